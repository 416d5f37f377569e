/**
 * Runs every benchmark on the compiled code (npm run bench), each in its own process so one's
 * heap does not weigh on the next. Paste the output into docs/BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const runs: Array<{ script: string; args: string[]; node: string[] }> = [
  { script: 'append.bench.js', args: ['20000'], node: [] },
  { script: 'replay.bench.js', args: ['100000', '10'], node: ['--max-old-space-size=8192'] },
  { script: 'memory.bench.js', args: ['100000'], node: ['--expose-gc'] },
];

for (const r of runs) {
  const res = spawnSync(process.execPath, [...r.node, path.join(__dirname, r.script), ...r.args], { stdio: 'inherit' });
  if (res.status !== 0) process.exitCode = 1;
}
