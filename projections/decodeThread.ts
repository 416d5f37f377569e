/**
 * Large replays decode on a second thread.
 *
 * A full replay spends most of its time turning JSON text into objects, most of which the same
 * object's next event replaces before anyone reads them. The fold cannot simply leave them
 * undecoded: an event that does not decode is skipped and counted (ProjectionOptions.onDecodeError),
 * so whether each event decodes decides the state. A worker thread answers that question — it runs
 * the fold's own `decodeEvent` on every event — while the fold, on the calling thread, keeps the text
 * of each whole-object event (Created, Updated) the thread accepted and parses it when the object is
 * first read (DeferredObject). Every other event — one the thread did not accept, a status, binding,
 * scale or delete event, or any event while someone watches the changes — is decoded and applied the
 * ordinary way. The projection ends the same, object for object, as the fold without the thread.
 *
 * If the thread cannot start or dies, its batches are decoded on the calling thread.
 */
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import * as E from 'fp-ts/Either';
import { evolveObject } from '../core/deciders/object';
import { CURRENT_SCHEMA_VERSION, decodeEvent, type ObjectEvent } from '../core/events/types';
import { withFields } from '../core/json';
import type { KubeObject } from '../core/objects/codecs';
import { decodeRaw } from '../core/store/internal';
import type { JsonObject, RawEvent } from '../core/store/port';
import type { StoredObject } from './objectStore';

/** Events per message to the thread. */
export const DECODE_BATCH = 1024;

/**
 * Decode threads at once in this process: one per core beside the calling thread's. A fold that
 * finds them all busy (say, several lists at old resourceVersions at once) decodes on its own.
 */
const MAX_THREADS = Math.max(1, availableParallelism() - 1);
let running = 0;

/** What the thread is sent: the events' types and text, in the order of the batch. */
interface DecodeBatch {
  readonly types: readonly string[];
  readonly data: readonly string[];
  readonly metadata: readonly string[];
}

/**
 * Whether the fold's decoder accepts the event as a whole-object event (Created or Updated) of the
 * current schema version, whose object is then its payload's `object` as written: the events whose
 * decoding can wait until the object is read.
 */
export function decodesAsWholeObject(type: string, data: string, metadata: string): boolean {
  let decoded;
  try {
    decoded = decodeEvent(decodeRaw({ id: '', stream: '', revision: 0n, position: 0n, recordedAt: 0n, type, data, metadata }));
  } catch {
    return false;
  }
  if (E.isLeft(decoded)) return false;
  const { event, metadata: envelope } = decoded.right;
  return (event.type === 'Created' || event.type === 'Updated') && envelope.schemaVersion === CURRENT_SCHEMA_VERSION;
}

/** The thread's side: says it is ready, then answers each batch with one flag per event (1: decodesAsWholeObject). */
export function serveDecodeThread(): void {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('serveDecodeThread runs on a worker thread');
  port.on('message', (batch: DecodeBatch) => {
    const flags = new Uint8Array(batch.types.length);
    for (let i = 0; i < flags.length; i++) flags[i] = decodesAsWholeObject(batch.types[i], batch.data[i], batch.metadata[i]) ? 1 : 0;
    port.postMessage(flags, [flags.buffer]);
  });
  port.postMessage(READY);
}

const READY = 'ready';

// The thread loads this module, compiled or (tests, tsx) as TypeScript through tsx.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
if (workerData.tsx) require(workerData.tsx).register();
require(workerData.file).serveDecodeThread();
`;

/**
 * The calling thread's handle on the decode thread. It takes a moment to start (loading the
 * decoders): `ready` says when it has. Batches are answered one at a time, in order.
 */
export class DecodeThread {
  private readonly waiting: Array<(flags: Uint8Array | undefined) => void> = [];
  private alive = true;
  private closed = false;
  private started = false;
  private onStarted: (started: boolean) => void = () => undefined;
  /** Resolves true once the thread has started, false if it is gone first. */
  readonly whenStarted = new Promise<boolean>((resolve) => (this.onStarted = resolve));

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Uint8Array | typeof READY) => {
      if (m !== READY) this.waiting.shift()?.(m);
      else {
        this.started = true;
        this.onStarted(true);
      }
    });
    worker.on('error', () => this.fail());
    worker.on('exit', () => this.fail());
  }

  /** A new thread, or undefined when none can be started here or as many as MAX_THREADS run. */
  static start(): DecodeThread | undefined {
    if (running >= MAX_THREADS) return undefined;
    const file = path.join(__dirname, `decodeThread${path.extname(__filename)}`);
    try {
      const tsx = file.endsWith('.ts') ? require.resolve('tsx/cjs/api') : undefined;
      const thread = new DecodeThread(new Worker(WORKER_SOURCE, { eval: true, workerData: { file, tsx } }));
      running++;
      return thread;
    } catch {
      return undefined;
    }
  }

  /** Whether the thread has started and takes batches; false again once it is gone. */
  get ready(): boolean {
    return this.started && this.alive;
  }

  /** Whether the thread may still start or answer. */
  get usable(): boolean {
    return this.alive;
  }

  /** The flags for a batch of events; undefined if the thread is gone (the caller decodes them). */
  check(events: readonly RawEvent[]): Promise<Uint8Array | undefined> {
    if (!this.alive) return Promise.resolve(undefined);
    const batch: DecodeBatch = { types: events.map((e) => e.type), data: events.map((e) => e.data), metadata: events.map((e) => e.metadata) };
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.worker.postMessage(batch);
    });
  }

  /** Stops the thread (without waiting for it to be gone: it holds nothing but memory). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    running--;
    this.fail();
    this.worker.unref();
    void this.worker.terminate();
  }

  private fail(): void {
    this.alive = false;
    this.onStarted(false);
    for (const w of this.waiting.splice(0)) w(undefined);
  }
}

/**
 * The object of a whole-object event the decode thread accepted: its payload's text, parsed the
 * first time the object is read — through the fold's own evolveObject, so the object is the one
 * the eager fold makes.
 */
export class DeferredObject implements StoredObject {
  private text: string | undefined;
  private parsed: KubeObject | undefined;
  readonly position: bigint;
  readonly revision: bigint;
  readonly eventId: string;

  constructor(
    event: RawEvent,
    private readonly kind: string,
    private readonly verb: 'Created' | 'Updated',
    readonly correlationId: string | undefined,
  ) {
    this.text = event.data;
    this.position = event.position;
    this.revision = event.revision;
    this.eventId = event.id;
  }

  get object(): KubeObject {
    if (this.parsed === undefined) {
      const payload = JSON.parse(this.text as string) as JsonObject;
      const event = withFields(payload, { type: this.verb, kind: this.kind }) as unknown as ObjectEvent;
      this.parsed = evolveObject(undefined, { event, position: this.position, id: this.eventId }) as KubeObject;
      this.text = undefined;
    }
    return this.parsed;
  }
}
