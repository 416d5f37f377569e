#!/usr/bin/env node
'use strict';
// The kubectl plugin: `kubectl replay …` runs this executable (kubectl finds kubectl-* on PATH).
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
require('../dist/api/kubectlReplay.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`error: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
