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
  { script: 'api.bench.js', args: ['creates', 'fanout', 'deep', 'secure'], node: [] },
  { script: 'controllers.bench.js', args: ['scheduler', '5000', '10000'], node: ['--max-old-space-size=12000'] },
  { script: 'controllers.bench.js', args: ['nodes', '5000', '60'], node: ['--max-old-space-size=12000'] },
  { script: 'controllers.bench.js', args: ['density', '1000', '30'], node: ['--max-old-space-size=12000'] },
  { script: 'history.bench.js', args: ['1000000', '100000'], node: ['--max-old-space-size=8192'] },
  { script: 'proxy.bench.js', args: ['20000', '16'], node: [] },
];

for (const r of runs) {
  const res = spawnSync(process.execPath, [...r.node, path.join(__dirname, r.script), ...r.args], { stdio: 'inherit' });
  if (res.status !== 0) process.exitCode = 1;
}
