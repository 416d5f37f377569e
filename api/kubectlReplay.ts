/**
 * `kubectl replay …`: the kubectl plugin (the `kubectl-replay` executable npm installs). It asks
 * the server of the user's kubeconfig — the current context's, or --context's — with that
 * user's token or basic credentials, and offers the replay operations of `kronicle replay`:
 *
 *   kubectl replay history pod/web-1
 *   kubectl replay why pod/web-1 --at 1234
 *   kubectl replay state --time 2026-11-27T10:00:00Z -o yaml
 *   kubectl replay rerun --controller scheduler
 */
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliFailure, addReplayCommands, type ReplaySource } from './replayCli';

interface Kubeconfig {
  'current-context'?: string;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string; namespace?: string } }>;
  clusters?: Array<{ name: string; cluster?: { server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }>;
  users?: Array<{ name: string; user?: { token?: string; username?: string; password?: string; 'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string } }>;
}

/** The server, credentials and namespace a kubeconfig's context names. */
export function sourceFromKubeconfig(options: { kubeconfig?: string; context?: string; server?: string }, env: NodeJS.ProcessEnv = process.env): ReplaySource & { namespace?: string } {
  const file = options.kubeconfig ?? env.KUBECONFIG?.split(path.delimiter).find((f) => f !== '') ?? path.join(os.homedir(), '.kube', 'config');
  let config: Kubeconfig = {};
  try {
    config = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as Kubeconfig;
  } catch (err) {
    if (!options.server) throw new CliFailure(`cannot read the kubeconfig ${file}: ${(err as Error).message}`);
  }
  const contextName = options.context ?? config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!options.server && !context) throw new CliFailure(`the kubeconfig ${file} has no context "${contextName ?? ''}"`);
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const server = options.server ?? cluster?.server;
  if (!server) throw new CliFailure(`the kubeconfig ${file} names no server for the context "${contextName ?? ''}"`);
  const user = config.users?.find((u) => u.name === context?.user)?.user;
  // Inline data (base64) or a file path relative to the kubeconfig, as kubectl reads them.
  const material = (data: string | undefined, fileRef: string | undefined): string | undefined =>
    data ? Buffer.from(data, 'base64').toString('utf8') : fileRef ? fs.readFileSync(path.resolve(path.dirname(file), fileRef), 'utf8') : undefined;
  const ca = material(cluster?.['certificate-authority-data'], cluster?.['certificate-authority']);
  const cert = material(user?.['client-certificate-data'], user?.['client-certificate']);
  const key = material(user?.['client-key-data'], user?.['client-key']);
  const tls = { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), ...(cluster?.['insecure-skip-tls-verify'] ? { insecureSkipVerify: true } : {}) };
  const headers: Record<string, string> = {};
  if (user?.token) headers.authorization = `Bearer ${user.token}`;
  else if (user?.username && user.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  return { server: server.replace(/\/$/, ''), headers, tls, ...(context?.namespace ? { namespace: context.namespace } : {}) };
}

export async function main(argv: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  const program = new Command();
  program.name('kubectl replay').description("Kronicle's replay debugger as a kubectl plugin: the cluster's past, who changed what and why").exitOverride();
  let exitCode = 0;
  addReplayCommands(program, {
    sourceOptions: (c) => c.option('--kubeconfig <file>', 'the kubeconfig (default: $KUBECONFIG or ~/.kube/config)').option('--context <name>', 'the kubeconfig context to use').option('--server <url>', 'the server, instead of the kubeconfig’s'),
    source: (o) => sourceFromKubeconfig({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}), ...(o.server ? { server: o.server } : {}) }),
    out,
    done: (code) => void (exitCode = code),
  });
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (err instanceof CliFailure) {
      console.error(`error: ${err.message}`);
      return err.exitCode;
    }
    if (code?.startsWith('commander.')) return 2;
    throw err;
  }
  return exitCode;
}
