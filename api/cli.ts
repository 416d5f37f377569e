/**
 * The `kronicle` command. A composition root: it alone chooses the store adapter.
 *
 *   kronicle serve  [--data-dir ./data] [--store sqlite|memory|esdb://…] [--port 8080] [--host 127.0.0.1] [--nodes N] [--no-controllers]
 *   kronicle status [--data-dir ./data] [--store …]
 *   kronicle controllers --server URL [--nodes N]     the controllers and scheduler, through the API
 *   kronicle node --server URL --name NAME [--index I] one hollow node, through the API
 *   kronicle replay state|history|why|diff|changes|rerun|explain|resimulate|verify …
 *           [--server URL | --data-dir DIR | --store esdb://…] [-o table|json|yaml]   (replayCli.ts)
 *   kronicle history|why|diff|changes …   the same as `kronicle replay history|why|diff|changes …`
 *   kronicle history export [--out FILE] [--from N] [--to N] [--server URL]   the log as a history file
 *   kronicle history import FILE [--data-dir DIR] [--store S]                 into an empty store
 *   kronicle audit [--from N] [--to N] [--out FILE] [--server URL]   audit.k8s.io/v1 events
 */
import { Command, InvalidArgumentError } from 'commander';
import * as path from 'node:path';
import { openStore } from '../core/store';
import { isStoreError, type EventStore } from '../core';
import { ClusterProjection } from '../projections';
import { startKronicle } from './kronicle';
import { isLoopback } from './server';
import { CliFailure, addReplayCommands, httpText, print, runReplay } from './replayCli';
import { REPLAY_PREFIX } from './replayOps';
import * as fs from 'node:fs';
import { exportHistory, importHistory } from '../replay/historyFile';
import { ReplayError } from '../replay/history';
import * as os from 'node:os';
import { ApiClient, ControllerManager, ElectedControllers, HollowKubelet, RemoteView, hollowNodes, standardReconcilers, wallClock, type Reconciler } from '../controllers';

interface StoreOptions {
  dataDir: string;
  store: string;
  encryptionKeyFile?: string;
}

const storeSpec = (value: string): string => {
  if (value === 'sqlite' || value === 'memory' || /^esdb(\+discover)?:\/\//.test(value)) return value;
  throw new InvalidArgumentError('use sqlite, memory or an esdb:// connection string');
};

function report(store: EventStore, projection: ClusterProjection, ms: number, out: (line: string) => void): void {
  out(`kronicle: store ${store.description}`);
  out(`kronicle: log head position ${projection.position}; projections rebuilt in ${ms.toFixed(0)} ms`);
  const counts = Object.entries(projection.counts())
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  out(`kronicle: objects ${counts}`);
}

const elapsedMs = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6;

export async function main(argv: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  const program = new Command();
  program.name('kronicle').description('A Kubernetes control plane core on an event log, with a replay debugger').exitOverride();

  const withStore = (cmd: Command) =>
    cmd
      .option('--data-dir <dir>', 'data directory (the SQLite log, kubeconfig)', './data')
      .option('--store <store>', 'sqlite (default), memory, or an esdb://host:2113?tls=false connection string', storeSpec, 'sqlite')
      .option('--encryption-key-file <file>', 'the key Secrets are encrypted with at rest: an EncryptionConfiguration (aesgcm) or a base64 key (default: <data-dir>/encryption.key, made on first start)');

  withStore(program.command('status').description('print the log head position and object counts, then exit')).action(async (opts: StoreOptions) => {
    const store = await openStore(opts.store, path.resolve(opts.dataDir), { ...(opts.encryptionKeyFile ? { encryptionKeyFile: opts.encryptionKeyFile } : {}) });
    const started = process.hrtime.bigint();
    const projection = new ClusterProjection({ onDecodeError: (e) => out(`warning: ${e.message}`) });
    await projection.foldRange(store, await store.headPosition());
    report(store, projection, elapsedMs(started), out);
    await store.close();
  });

  withStore(program.command('serve').description('run Kronicle until SIGTERM or SIGINT'))
    .option('--host <address>', 'the insecure port\'s bind address (loopback only)', '127.0.0.1')
    .option('--port <port>', 'the insecure port (HTTP, no authentication)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
      return n;
    }, 8080)
    .option('--nodes <n>', 'hollow nodes to run in this process', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 10000) throw new InvalidArgumentError('a number of nodes from 0 to 10000');
      return n;
    }, 0)
    .option('--no-controllers', 'do not run the controllers and the scheduler in this process')
    .option('--leader-elect', 'run the controllers only while holding the kube-system lease (several servers on one store)')
    .option('--secure-port <port>', 'the secure port (HTTPS: authentication and RBAC); 0 turns it off', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
      return n;
    }, 6443)
    .option('--bind-address <address>', "the secure port's bind address", '127.0.0.1')
    .option('--tls-cert-file <file>', 'the serving certificate (default: one made in <data-dir>/pki by a CA made there)')
    .option('--tls-private-key-file <file>', "the serving certificate's key")
    .option('--client-ca-file <file>', 'the CA whose client certificates authenticate (CN = user, O = groups; default: the generated CA)')
    .option('--token-auth-file <file>', 'static tokens: CSV token,user,uid,"group1,group2"')
    .option('--basic-auth-file <file>', 'basic auth: CSV password,user,uid,"group1,group2"')
    .action(async (opts: StoreOptions & { host: string; port: number; nodes: number; controllers: boolean; leaderElect?: boolean; securePort: number; bindAddress: string; tlsCertFile?: string; tlsPrivateKeyFile?: string; clientCaFile?: string; tokenAuthFile?: string; basicAuthFile?: string }) => {
      if ((opts.tlsCertFile === undefined) !== (opts.tlsPrivateKeyFile === undefined)) throw new InvalidArgumentError('--tls-cert-file and --tls-private-key-file go together');
      for (const f of [opts.tlsCertFile, opts.tlsPrivateKeyFile, opts.clientCaFile, opts.tokenAuthFile, opts.basicAuthFile]) {
        if (f !== undefined && !fs.existsSync(f)) throw new InvalidArgumentError(`no such file: ${f}`);
      }
      if (!isLoopback(opts.host)) {
        throw new InvalidArgumentError(`the insecure port serves without authentication and binds only to loopback, not ${opts.host}`);
      }
      fs.mkdirSync(path.resolve(opts.dataDir), { recursive: true });
      const store = await openStore(opts.store, path.resolve(opts.dataDir), { createKey: true, ...(opts.encryptionKeyFile ? { encryptionKeyFile: opts.encryptionKeyFile } : {}) });
      const kubeconfigPath = path.resolve(opts.dataDir, 'kubeconfig');
      const started = process.hrtime.bigint();
      const kronicle = await startKronicle({
        store,
        host: opts.host,
        port: opts.port,
        kubeconfigPath,
        log: out,
        controllers: opts.controllers,
        nodes: opts.nodes,
        servePods: true,
        ...(opts.leaderElect ? { leaderElection: { identity: `${os.hostname()}_${process.pid}` } } : {}),
        ...(opts.securePort > 0
          ? {
              secure: {
                host: opts.bindAddress,
                port: opts.securePort,
                pkiDir: path.resolve(opts.dataDir, 'pki'),
                kubeconfigPath: path.resolve(opts.dataDir, 'kubeconfig-secure'),
                ...(opts.tlsCertFile ? { certFile: opts.tlsCertFile, keyFile: opts.tlsPrivateKeyFile } : {}),
                ...(opts.clientCaFile ? { clientCAFile: opts.clientCaFile } : {}),
                ...(opts.tokenAuthFile ? { tokenAuthFile: opts.tokenAuthFile } : {}),
                ...(opts.basicAuthFile ? { basicAuthFile: opts.basicAuthFile } : {}),
              },
            }
          : {}),
      });
      report(store, kronicle.projection, elapsedMs(started), out);
      out(`kronicle: serving the Kubernetes API at ${kronicle.url} (insecure port, loopback only)`);
      if (kronicle.secureUrl) out(`kronicle: and at ${kronicle.secureUrl} (secure port: TLS, authentication, RBAC); admin kubeconfig ${path.resolve(opts.dataDir, 'kubeconfig-secure')}`);
      if (kronicle.controllers) out(`kronicle: controllers and scheduler running; ${kronicle.kubelets.length} hollow node(s)${kronicle.kubelets.length ? `: ${kronicle.kubelets.map((k) => k.options.name).join(', ')}` : ''}`);
      out(`kronicle: kubeconfig written to ${kubeconfigPath}`);
      out(`kronicle: try   KUBECONFIG=${kubeconfigPath} kubectl get namespaces`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await kronicle.close();
      await store.close();
      out(`kronicle: stopped at position ${kronicle.projection.position}`);
    });

  const nonNegative = (max: number) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`a whole number from 0 to ${max}`);
    return n;
  };
  const serverUrl = (v: string) => {
    if (!/^https?:\/\/[^/]+$/.test(v.replace(/\/$/, ''))) throw new InvalidArgumentError('a URL such as http://127.0.0.1:8080');
    return v.replace(/\/$/, '');
  };

  /**
   * Runs reconcilers in this process against a remote API server until SIGTERM or SIGINT;
   * `elected` ones only while this process holds the controller manager's lease.
   */
  async function runRemote(server: string, reconcilers: Reconciler[], what: string, elected: Reconciler[] = []): Promise<void> {
    const view = new RemoteView(server, out);
    await view.start();
    const client = new ApiClient(server);
    const make = (list: Reconciler[]) => new ControllerManager({ projection: view, eventAt: (p) => view.eventAt(p), client, clock: wallClock, reconcilers: list, log: out, concurrent: true });
    const manager = make(reconcilers);
    manager.start();
    const election = elected.length ? new ElectedControllers(view, client, wallClock, { identity: `${os.hostname()}_${process.pid}` }, () => make(elected), out) : undefined;
    election?.start();
    out(`kronicle: ${what} running against ${server} (observed position ${view.position})`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await election?.stop();
    await manager.stop();
    view.stop();
    client.close();
    out(`kronicle: ${what} stopped`);
  }

  program
    .command('controllers')
    .description('run the controllers and the scheduler against a Kronicle API server, talking only through its API')
    .requiredOption('--server <url>', 'the API server, e.g. http://127.0.0.1:8080', serverUrl)
    .option('--nodes <n>', 'hollow nodes to run here as well', nonNegative(10000), 0)
    .option('--no-leader-elect', 'run the controllers without holding the kube-system lease')
    .action(async (opts: { server: string; nodes: number; leaderElect: boolean }) => {
      const what = `controllers${opts.nodes ? ` and ${opts.nodes} hollow node(s)` : ''}`;
      if (opts.leaderElect) await runRemote(opts.server, hollowNodes(opts.nodes), what, standardReconcilers());
      else await runRemote(opts.server, [...standardReconcilers(), ...hollowNodes(opts.nodes)], what);
    });

  program
    .command('node')
    .description('run one hollow node against a Kronicle API server')
    .requiredOption('--server <url>', 'the API server, e.g. http://127.0.0.1:8080', serverUrl)
    .requiredOption('--name <name>', 'the node name')
    .option('--index <i>', 'the node index: address 127.1.<i/256>.<i%256>, pod CIDR 127.<2+i/256>.<i%256>.0/24', nonNegative(65535), 0)
    .action(async (opts: { server: string; name: string; index: number }) => {
      await runRemote(opts.server, [new HollowKubelet({ name: opts.name, index: opts.index })], `hollow node ${opts.name}`);
    });

  /** `kronicle history export|import …`: histories as files. */
  async function historyFile(action: 'export' | 'import', arg: string | undefined, opts: { server: string; out?: string; from?: string; to?: string; dataDir?: string; store?: string; includeSecrets?: boolean | string }): Promise<void> {
    if (action === 'export') {
      const q = new URLSearchParams({ ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) }).toString();
      let text: string;
      if (opts.includeSecrets) {
        // Secrets in clear only from the data directory, read with its key: not over HTTP.
        const dir = path.resolve(opts.dataDir ?? './data');
        if (!fs.existsSync(path.join(dir, 'encryption.key'))) throw new CliFailure(`--include-secrets reads ${dir} with its key, and ${dir} has no encryption.key`);
        const store = await openStore(opts.store ?? 'sqlite', dir);
        try {
          text = `${(await exportHistory(store, { ...(opts.from ? { from: BigInt(opts.from) } : {}), ...(opts.to ? { to: BigInt(opts.to) } : {}), includeSecrets: true })).join('\n')}\n`;
        } catch (err) {
          if (err instanceof ReplayError) throw new CliFailure(err.message);
          throw err;
        } finally {
          await store.close();
        }
      } else text = await httpText(`${opts.server}${REPLAY_PREFIX}/export${q ? `?${q}` : ''}`);
      if (opts.out) {
        fs.writeFileSync(opts.out, text);
        out(`kronicle: ${text.split('\n').filter(Boolean).length - 2} events written to ${opts.out}`);
      } else process.stdout.write(text);
      return;
    }
    if (!arg) throw new InvalidArgumentError('history import takes the file to import');
    let text: string;
    try {
      text = fs.readFileSync(arg, 'utf8');
    } catch (err) {
      throw new CliFailure(`cannot read ${arg}: ${(err as Error).message}`);
    }
    const store = await openStore(opts.store ?? 'sqlite', path.resolve(opts.dataDir ?? './data'), { createKey: true });
    try {
      const n = await importHistory(store, text);
      out(`kronicle: ${n} events imported into ${store.description}`);
    } catch (err) {
      if (err instanceof ReplayError) throw new CliFailure(err.message);
      throw err;
    } finally {
      await store.close();
    }
  }

  const position = (v: string) => {
    if (!/^\d{1,19}$/.test(v)) throw new InvalidArgumentError('a log position');
    return v;
  };

  program
    .command('audit')
    .description('a range of the log as Kubernetes audit events (audit.k8s.io/v1, JSON lines)')
    .option('--server <url>', 'a running Kronicle', serverUrl, 'http://127.0.0.1:8080')
    .option('--from <position>', 'first position', position)
    .option('--to <position>', 'last position', position)
    .option('--out <file>', 'write here (default: standard output)')
    .action(async (opts: { server: string; from?: string; to?: string; out?: string }) => {
      const q = new URLSearchParams({ ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) }).toString();
      const text = await httpText(`${opts.server}${REPLAY_PREFIX}/audit${q ? `?${q}` : ''}`);
      if (opts.out) fs.writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });

  let exitCode = 0;
  const settings = {
    sourceOptions: (c: Command) =>
      c
        .option('--server <url>', 'a running Kronicle (default: read the data directory here)', serverUrl)
        .option('--data-dir <dir>', 'the data directory whose log to read', './data')
        .option('--store <store>', 'sqlite (default), or an esdb:// connection string', storeSpec, 'sqlite'),
    source: (o: Record<string, string | undefined>) => (o.server ? { server: o.server } : { dataDir: o.dataDir ?? './data', store: o.store ?? 'sqlite' }),
    out,
    done: (code: number) => void (exitCode = code),
  };
  const replay = program.command('replay').description('the replay debugger: state, history, why, diff, changes, rerun, explain, resimulate, verify');
  addReplayCommands(replay, settings);
  // The everyday questions at the top level too.
  addReplayCommands(program, { ...settings, only: ['why', 'diff', 'changes'] });
  program
    .command('history <object> [name]')
    .description('every change to one object (kind/name); or `history export|import` for history files')
    .option('-n, --namespace <ns>', 'the namespace of a namespaced kind', 'default')
    .option('--actor <name>', 'only changes by this actor')
    .option('--since <time>', 'from this time')
    .option('--until <time>', 'up to this time')
    .option('--server <url>', 'a running Kronicle (default: read the data directory here)', serverUrl)
    .option('--out <file>', 'history export: write the history file here (default: standard output)')
    .option('--from <position>', 'history export: first position', position)
    .option('--to <position>', 'history export: last position', position)
    .option('--data-dir <dir>', 'the data directory (to read; history import: to import into)', './data')
    .option('--include-secrets', 'history export: Secrets in clear, read from --data-dir with its key (the server never sends them)')
    .option('--store <store>', 'sqlite (default), or an esdb:// connection string', storeSpec, 'sqlite')
    .option('-o, --output <format>', 'table (default), json or yaml')
    .addHelpText('after', '\n  kronicle history export [--out FILE] [--from N] [--to N] --server URL   a range of the log as a history file\n  kronicle history import FILE [--data-dir DIR]                           into an empty store')
    .action(async (object: string, name: string | undefined, opts: Record<string, string | undefined>) => {
      if (object === 'export' || object === 'import') return historyFile(object, name, { server: opts.server ?? 'http://127.0.0.1:8080', ...opts });
      const answer = await runReplay(settings.source(opts), 'history', { kind: object, name, namespace: opts.namespace, actor: opts.actor, since: opts.since, until: opts.until });
      exitCode = print('history', answer, opts.output, out);
    });

  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (err instanceof CliFailure) {
      console.error(`kronicle: ${err.message}`);
      return err.exitCode;
    }
    if (code === 'commander.invalidArgument') {
      console.error(`kronicle: ${(err as Error).message}`);
      return 2;
    }
    if (code?.startsWith('commander.')) return 2;
    if (isStoreError(err)) {
      console.error(`kronicle: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
  return exitCode;
}

