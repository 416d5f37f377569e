#!/usr/bin/env node
'use strict';
// The compiled CLI (npm ci runs `prepare`, which builds dist/).
require('../dist/api/cli.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`kronicle: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
