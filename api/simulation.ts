/**
 * The simulator: the whole control plane — API server, controllers, scheduler, hollow kubelets —
 * on an in-memory log, in virtual time, with seeded ids, so that a run is reproducible event for
 * event. It records scenarios as histories (with the live state's digest after every event) and
 * re-simulates recorded histories: their external inputs (the requests users sent, as recorded
 * in the envelope) are sent again, at their recorded times, to today's code, and the resulting
 * history is compared with the recorded one event by event.
 *
 * A composition root like `serve`: it wires api, controllers and replay together.
 */
import { VirtualClock } from '../controllers/clock';
import { sequentialIds } from '../core/ids';
import { MemoryEventStore } from '../core/store/memory';
import type { StoredEvent } from '../core/store/port';
import type { Reconciler } from '../controllers/runtime';
import { DigestTracker } from '../projections/digest';
import type { ClusterProjection } from '../projections';
import { diff, objectsOf, ReplayError, type FieldChange } from '../replay/history';
import { exportHistory, parseHistory, type SimulationInfo } from '../replay/historyFile';
import { startKronicle, type RunningKronicle } from './kronicle';

export const DEFAULT_SIMULATION: SimulationInfo = { start: '2026-11-27T10:00:00Z', idSeed: 3, nodes: 3 };

export interface SimulationOptions {
  /** Controllers to run instead of today's standard set (a changed controller under test). */
  readonly reconcilers?: readonly Reconciler[];
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export class Simulation {
  private constructor(
    /** The live state's digest after every event, as the server saw it. */
    readonly digests: ReadonlyMap<bigint, string>,
    readonly info: SimulationInfo,
    readonly clock: VirtualClock,
    readonly store: MemoryEventStore,
    readonly kronicle: RunningKronicle,
  ) {}

  static async start(info: SimulationInfo = DEFAULT_SIMULATION, options: SimulationOptions = {}): Promise<Simulation> {
    const clock = new VirtualClock(info.start);
    // The log records in virtual time too, so a re-run is identical, recorded times included.
    const store = new MemoryEventStore({ clock: () => clock.now() });
    const digests = new Map<bigint, string>();
    const observeProjection = (live: ClusterProjection) => new DigestTracker(live, (position, digest) => digests.set(position, digest));
    const kronicle = await startKronicle({
      store,
      port: 0,
      nodes: info.nodes,
      ids: sequentialIds(info.idSeed),
      clock: () => clock.now(),
      controllerClock: clock,
      observeProjection,
      snapshots: false,
      ...(options.reconcilers ? { reconcilers: options.reconcilers } : {}),
    });
    const sim = new Simulation(digests, info, clock, store, kronicle);
    await sim.settle();
    return sim;
  }

  /** Resolves once the controllers have nothing left to do at the current virtual time. */
  settle(): Promise<void> {
    return this.kronicle.controllers!.idle();
  }

  /** Sends a request to the API as a user, then lets the control plane settle. */
  async request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
    const r = await fetch(`${this.kronicle.url}${path}`, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body), headers });
    const text = await r.text();
    await this.settle();
    return { status: r.status, body: text };
  }

  /** JSON in, the answer out: `call('POST', '/api/v1/namespaces/default/pods', pod)`. */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
    return this.request(method, path, body === undefined ? undefined : JSON.stringify(body), { 'content-type': contentType });
  }

  /** Moves virtual time forward, firing the controllers' timers on the way. */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms, () => this.settle());
  }

  advanceTo(time: Date): Promise<void> {
    return this.advance(Math.max(0, time.getTime() - this.clock.now().getTime()));
  }

  /**
   * The run so far as a history file (NDJSON lines), with the live digests and how it was made.
   * Secrets included: a simulation's are made up, and a re-simulation compares every byte.
   */
  export(): Promise<string[]> {
    return exportHistory(this.store, { digests: this.digests, simulation: this.info, exportedAt: this.clock.now(), includeSecrets: true });
  }

  async close(): Promise<void> {
    await this.kronicle.close();
    await this.store.close();
  }
}

/** Runs `scenario` in a fresh simulation and returns its history. */
export async function recordScenario(scenario: (sim: Simulation) => Promise<void>, info: SimulationInfo = DEFAULT_SIMULATION): Promise<string[]> {
  const sim = await Simulation.start(info);
  try {
    await scenario(sim);
    return await sim.export();
  } finally {
    await sim.close();
  }
}

export interface EventDifference {
  readonly index: number;
  readonly recorded?: { readonly position: string; readonly type: string; readonly stream: string; readonly actor: string };
  readonly resimulated?: { readonly position: string; readonly type: string; readonly stream: string; readonly actor: string };
  readonly changes: readonly FieldChange[];
}

export interface ResimulationReport {
  readonly inputs: number;
  readonly recordedEvents: number;
  readonly resimulatedEvents: number;
  /** Events that differ, by their place in the history; the first divergence first. */
  readonly differences: readonly EventDifference[];
  /** Objects whose final state differs. */
  readonly finalDifferences: ReadonlyArray<{ readonly object: string; readonly changes: readonly FieldChange[] }>;
  /** Inputs today's API refused (status ≥ 400): a divergence of its own. */
  readonly refused: ReadonlyArray<{ readonly request: string; readonly status: number; readonly message: string }>;
}

interface Input {
  readonly at: Date;
  readonly requestId: string;
  readonly request: { method: string; url: string; contentType?: string; body?: string; encoding?: 'base64'; xRequestId?: string };
}

/** The external inputs of a history: each user request once, at the time its first event was recorded. */
export function inputsOf(events: readonly StoredEvent[]): Input[] {
  const seen = new Set<string>();
  const out: Input[] = [];
  for (const e of events) {
    const m = e.metadata as { actor?: { kind?: string }; requestId?: string; request?: Input['request'] };
    if (m.actor?.kind !== 'user' || !m.request || !m.requestId || seen.has(m.requestId)) continue;
    seen.add(m.requestId);
    out.push({ at: e.recordedAt, requestId: m.requestId, request: m.request });
  }
  return out;
}

const described = (e: StoredEvent) => ({ position: e.position.toString(), type: e.type, stream: e.stream, actor: (e.metadata as { actor?: { name?: string } }).actor?.name ?? '' });
const comparable = (e: StoredEvent) => ({ id: e.id, type: e.type, stream: e.stream, revision: e.revision.toString(), position: e.position.toString(), recordedAt: e.recordedAt.toISOString(), data: e.data, metadata: e.metadata });

/**
 * Re-simulates a recorded history with today's code: the same start, id seed and nodes (from the
 * history's header), the recorded user requests sent again at their recorded times, then the
 * new history compared with the recorded one event by event and in its final state.
 */
export async function resimulate(text: string, options: SimulationOptions & { maxDifferences?: number } = {}): Promise<ResimulationReport> {
  const recorded = parseHistory(text);
  const info = recorded.header.simulation;
  if (!info) throw new ReplayError('this history was not recorded in the simulator (its header has no "simulation"): it cannot be re-simulated event for event');
  if (recorded.header.from !== '1') throw new ReplayError('only a history from the start of a log can be re-simulated');
  const inputs = inputsOf(recorded.events);
  const refused: Array<ResimulationReport['refused'][number]> = [];
  const sim = await Simulation.start(info, options);
  let events: readonly StoredEvent[];
  let final: Record<string, unknown>;
  try {
    for (const input of inputs) {
      await sim.advanceTo(input.at);
      const { request } = input;
      // The request id as it came: the client's, or none (the server makes the same one again).
      const headers: Record<string, string> = request.xRequestId ? { 'x-request-id': request.xRequestId } : {};
      if (request.contentType) headers['content-type'] = request.contentType;
      const body = request.body === undefined ? undefined : request.encoding === 'base64' ? Buffer.from(request.body, 'base64') : request.body;
      const answer = await sim.request(request.method, request.url, body, headers);
      if (answer.status >= 400) refused.push({ request: `${request.method} ${request.url}`, status: answer.status, message: answer.body.slice(0, 500) });
    }
    const last = recorded.events[recorded.events.length - 1];
    if (last) await sim.advanceTo(last.recordedAt);
    events = await sim.store.readAll({ maxCount: Number.MAX_SAFE_INTEGER });
    final = objectsOf(sim.kronicle.projection);
  } finally {
    await sim.close();
  }
  const max = options.maxDifferences ?? 20;
  const differences: EventDifference[] = [];
  for (let i = 0; i < Math.max(events.length, recorded.events.length) && differences.length < max; i++) {
    const a = recorded.events[i];
    const b = events[i];
    const changes = diff(a ? comparable(a) : undefined, b ? comparable(b) : undefined);
    if (changes.length > 0) differences.push({ index: i, ...(a ? { recorded: described(a) } : {}), ...(b ? { resimulated: described(b) } : {}), changes });
  }
  const finalDifferences = [...new Set([...Object.keys(recorded.final.objects), ...Object.keys(final)])]
    .sort()
    .map((object) => ({ object, changes: diff(recorded.final.objects[object], final[object]) }))
    .filter((d) => d.changes.length > 0);
  return { inputs: inputs.length, recordedEvents: recorded.events.length, resimulatedEvents: events.length, differences, finalDifferences, refused };
}
