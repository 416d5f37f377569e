/**
 * Histories as files: a range of the log exported as newline-delimited JSON — a header naming the
 * format and its version, the events as stored (ids, types, streams, revisions, positions,
 * envelopes, payloads), and a footer with the objects as they were at the end of the range — and
 * imported into an empty store. `checkReplay` folds a history's events with today's code and
 * compares the result with the state recorded in its footer: a recorded cluster becomes a
 * regression test of the folds and upcasters (tests/support/replay.ts wraps it for jest).
 */
import * as E from 'fp-ts/Either';
import { deepEqual } from '../core/json';
import { decodeEvent } from '../core/events/types';
import type { EventStore, JsonObject, StoredEvent } from '../core/store/port';
import { ClusterProjection } from '../projections';
import { stateDigest } from '../projections/digest';
import { diff, objectsOf, ReplayError, type FieldChange } from './history';
import { redactSecret } from './redact';

export const HISTORY_FORMAT = 'kronicle-history';
export const HISTORY_VERSION = 1;

/**
 * How a history recorded in the simulator was made — start time, id source, hollow nodes — so
 * a re-simulation can set up the same control plane (api/simulation.ts).
 */
export interface SimulationInfo {
  readonly start: string;
  /** The seed of the sequential id source. */
  readonly idSeed: number;
  readonly nodes: number;
}

interface Header {
  format: string;
  version: number;
  exportedAt: string;
  from: string;
  to: string;
  events: number;
  simulation?: SimulationInfo;
}

/**
 * Exports positions `from`…`to` (inclusive; the whole log by default) as NDJSON lines. A recorder
 * that watched the live server passes the state digest it saw after each event (`digests`):
 * each event line then carries it, and a replay is checked against it position by position.
 */
export async function exportHistory(
  store: EventStore,
  options: { from?: bigint; to?: bigint; digests?: ReadonlyMap<bigint, string>; simulation?: SimulationInfo; exportedAt?: Date; /** Secrets' values in clear (default: redacted). */ includeSecrets?: boolean } = {},
): Promise<string[]> {
  const shown = (stream: string, data: unknown) =>
    options.includeSecrets || !stream.startsWith('Secret-') || typeof data !== 'object' || data === null || !('object' in data) ? data : { ...data, object: redactSecret((data as { object: unknown }).object) };
  const head = await store.headPosition();
  const from = options.from ?? 1n;
  const to = options.to ?? head;
  if (to > head) throw new ReplayError(`position ${to} is beyond the log's head (${head})`);
  const view = new ClusterProjection();
  const lines: string[] = [];
  for (let at = 1n; at <= to; ) {
    const page = await store.readAll({ from: at, to, maxCount: 4096 });
    for (const e of page) {
      view.apply(e);
      if (e.position >= from) {
        const stateDigest = options.digests?.get(e.position);
        lines.push(JSON.stringify({ id: e.id, type: e.type, stream: e.stream, revision: e.revision.toString(), position: e.position.toString(), recordedAt: e.recordedAt.toISOString(), metadata: e.metadata, data: shown(e.stream, e.data), ...(stateDigest ? { stateDigest } : {}) }));
      }
    }
    if (page.length < 4096) break;
    at = page[page.length - 1].position + 1n;
  }
  const header: Header = {
    format: HISTORY_FORMAT,
    version: HISTORY_VERSION,
    exportedAt: (options.exportedAt ?? new Date()).toISOString(),
    from: from.toString(),
    to: to.toString(),
    events: lines.length,
    ...(options.simulation ? { simulation: options.simulation } : {}),
  };
  const objects = objectsOf(view);
  if (!options.includeSecrets) for (const [name, o] of Object.entries(objects)) if (name.startsWith('Secret-')) objects[name] = redactSecret(o);
  return [JSON.stringify(header), ...lines, JSON.stringify({ final: { position: to.toString(), objects } })];
}

export interface Parsed {
  readonly header: Header;
  readonly events: StoredEvent[];
  /** The live state digest recorded after each event, by position, where the recording has them. */
  readonly digests: ReadonlyMap<bigint, string>;
  readonly final: { position: string; objects: Record<string, unknown> };
}

/** Parses a history file; anything else is a ReplayError naming the line. */
export function parseHistory(text: string): Parsed {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parse = (line: string, n: number) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ReplayError(`line ${n}: not JSON`);
    }
  };
  if (lines.length < 2) throw new ReplayError('not a Kronicle history: too short');
  const header = parse(lines[0], 1) as unknown as Header;
  if (header.format !== HISTORY_FORMAT) throw new ReplayError(`not a Kronicle history (format ${JSON.stringify(header.format)})`);
  if (header.version !== HISTORY_VERSION) throw new ReplayError(`history format version ${header.version} is not one this Kronicle reads (${HISTORY_VERSION})`);
  const footer = parse(lines[lines.length - 1], lines.length) as { final?: Parsed['final'] };
  if (!footer.final) throw new ReplayError('the history has no final state (truncated?)');
  const digests = new Map<bigint, string>();
  const events = lines.slice(1, -1).map((line, i) => {
    const e = parse(line, i + 2) as Record<string, unknown>;
    if (typeof e.id !== 'string' || typeof e.type !== 'string' || typeof e.stream !== 'string' || typeof e.position !== 'string' || typeof e.revision !== 'string' || !/^\d+$/.test(e.position) || !/^\d+$/.test(e.revision)) throw new ReplayError(`line ${i + 2}: not an event`);
    if (typeof e.stateDigest === 'string') digests.set(BigInt(e.position), e.stateDigest);
    return { id: e.id, type: e.type, stream: e.stream, revision: BigInt(e.revision), position: BigInt(e.position), recordedAt: new Date(String(e.recordedAt)), data: e.data as JsonObject, metadata: e.metadata as JsonObject } as StoredEvent;
  });
  if (events.length !== header.events) throw new ReplayError(`the header announces ${header.events} events, the file has ${events.length}`);
  return { header, events, digests, final: footer.final };
}

/** Appends a history's events to an empty store, stream revisions kept; positions are the store's. */
export async function importHistory(store: EventStore, text: string): Promise<number> {
  const { events, header } = parseHistory(text);
  if ((await store.headPosition()) > 0n) throw new ReplayError('import into an empty store only');
  if (header.from !== '1') throw new ReplayError('only a history that starts at the beginning of a log can be imported');
  for (const e of events) {
    await store.append(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], e.revision === 0n ? 'no_stream' : e.revision - 1n);
  }
  return events.length;
}

export interface ReplayMismatch {
  readonly object: string;
  readonly changes: readonly FieldChange[];
}

/**
 * Folds a history's events with today's code and compares with its recorded final state: the
 * objects that differ, each with its field changes (recorded → replayed). Positions are
 * compared by their order in the file, so resourceVersions match the recording.
 */
export function checkReplay(text: string): { events: number; mismatches: ReplayMismatch[]; undecodable: string[]; positionsChecked: number; positionMismatches: string[] } {
  const { events, final, digests } = parseHistory(text);
  const view = new ClusterProjection();
  const undecodable: string[] = [];
  const positionMismatches: string[] = [];
  let positionsChecked = 0;
  for (const e of events) {
    if (E.isLeft(decodeEvent(e))) undecodable.push(`${e.position} ${e.type} ${e.id}`);
    view.apply(e);
    const recorded = digests.get(e.position);
    if (recorded !== undefined) {
      positionsChecked++;
      if (stateDigest(view) !== recorded) positionMismatches.push(`${e.position} ${e.type} ${e.stream}`);
    }
  }
  const replayed = objectsOf(view);
  const mismatches: ReplayMismatch[] = [];
  for (const name of new Set([...Object.keys(final.objects), ...Object.keys(replayed)])) {
    if (!deepEqual(final.objects[name], replayed[name])) mismatches.push({ object: name, changes: diff(final.objects[name], replayed[name]) });
  }
  return { events: events.length, mismatches, undecodable, positionsChecked, positionMismatches };
}
