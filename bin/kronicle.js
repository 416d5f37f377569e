#!/usr/bin/env node
'use strict';
// Output piped into `head` and the like: a closed pipe ends the command quietly.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
// The compiled CLI (npm ci runs `prepare`, which builds dist/).
require('../dist/api/cli.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`kronicle: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
