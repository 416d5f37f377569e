/**
 * The `kronicle` command. A composition root: it alone chooses the store adapter.
 *
 *   kronicle serve  [--data-dir ./data] [--store sqlite|memory|esdb://…]
 *   kronicle status [--data-dir ./data] [--store …]
 */
import { Command, InvalidArgumentError } from 'commander';
import * as path from 'node:path';
import { openStore } from '../core/store';
import { isStoreError, type EventStore } from '../core';
import { ClusterProjection } from '../projections';

interface StoreOptions {
  dataDir: string;
  store: string;
}

const storeSpec = (value: string): string => {
  if (value === 'sqlite' || value === 'memory' || /^esdb(\+discover)?:\/\//.test(value)) return value;
  throw new InvalidArgumentError('use sqlite, memory or an esdb:// connection string');
};

async function openAndProject(opts: StoreOptions, out: (line: string) => void): Promise<{ store: EventStore; projection: ClusterProjection }> {
  const dataDir = path.resolve(opts.dataDir);
  const store = await openStore(opts.store, dataDir);
  const projection = new ClusterProjection({ onDecodeError: (e) => out(`warning: ${e.message}`) });
  const started = process.hrtime.bigint();
  const head = await store.headPosition();
  await projection.foldRange(store, head);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  out(`kronicle: store ${store.description}`);
  out(`kronicle: log head position ${head}; projections rebuilt in ${ms.toFixed(0)} ms`);
  const counts = Object.entries(projection.counts())
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  out(`kronicle: objects ${counts}`);
  return { store, projection };
}

export async function main(argv: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  const program = new Command();
  program.name('kronicle').description('A Kubernetes control plane core on an event log, with a replay debugger').exitOverride();

  const withStore = (cmd: Command) =>
    cmd
      .option('--data-dir <dir>', 'data directory (the SQLite log, kubeconfig)', './data')
      .option('--store <store>', 'sqlite (default), memory, or an esdb://host:2113?tls=false connection string', storeSpec, 'sqlite');

  withStore(program.command('status').description('print the log head position and object counts, then exit')).action(async (opts: StoreOptions) => {
    const { store } = await openAndProject(opts, out);
    await store.close();
  });

  withStore(program.command('serve').description('run Kronicle until SIGTERM or SIGINT')).action(async (opts: StoreOptions) => {
    const { store, projection } = await openAndProject(opts, out);
    const live = projection.follow(store);
    out('kronicle: following the log; stop with Ctrl-C (SIGINT) or SIGTERM');
    let reported = projection.position;
    // A line a minute when the log has moved; it also keeps the process alive while it follows.
    const report = setInterval(() => {
      if (projection.position === reported) return;
      reported = projection.position;
      out(`kronicle: position ${reported}`);
    }, 60_000);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    clearInterval(report);
    live.unsubscribe();
    await store.close();
    out(`kronicle: stopped at position ${projection.position}`);
  });

  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (code?.startsWith('commander.')) return 2;
    if (isStoreError(err)) {
      console.error(`kronicle: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
  return 0;
}
