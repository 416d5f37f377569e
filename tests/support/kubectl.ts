/**
 * Runs the real kubectl against a Kronicle server, each test file with its own fresh cache
 * directory (kubectl caches discovery for hours) and its own kubeconfig.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kubeconfigFor } from '../../api/kronicle';

export interface Kubectl {
  /** Runs kubectl to completion (asynchronously: the server under test shares this process). */
  run(args: readonly string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts a long-running kubectl (a watch); returns its output so far and a stop function. */
  start(args: readonly string[]): { output: () => string; stop: () => Promise<void> };
}

/** kubectl with the insecure port's kubeconfig, or with `config` (a kubeconfig's text) written to `name` in `dir`. */
export function kubectlFor(url: string, dir: string, config?: string, name = 'kubeconfig'): Kubectl {
  const kubeconfig = path.join(dir, name);
  fs.writeFileSync(kubeconfig, config ?? kubeconfigFor(url));
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache')];
  return {
    run(args, stdin) {
      return new Promise((resolve, reject) => {
        const child = spawn('kubectl', [...base, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end(stdin ?? '');
      });
    },
    start(args) {
      const child = spawn('kubectl', [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      return {
        output: () => out,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    },
  };
}
