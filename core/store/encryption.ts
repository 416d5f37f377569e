/**
 * Secrets at rest: an EventStore wrapper that encrypts every Secret object an event carries
 * (AES-256-GCM, as Kubernetes' EncryptionConfiguration `aesgcm` provider does) before it reaches
 * the log, and decrypts it on every read, so neither the log nor the snapshots beside it hold a
 * Secret's values in clear. The whole object is sealed — data, stringData, and annotations such
 * as kubectl's last-applied-configuration, which repeat the values — keeping in clear only what
 * identifies it (kind, name, namespace, uid). A reader without the key sees the sealed objects.
 *
 * The key: 32 bytes, from `--encryption-key-file` (an EncryptionConfiguration with an aesgcm
 * provider, or a file holding the base64 key) or made in the data directory on first start.
 * Ciphertexts name their key (`k8s:enc:aesgcm:v1:<name>:…`), so keys can be rotated: every key
 * given decrypts, the first one encrypts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { map, type Observable } from 'rxjs';
import { parse as parseYaml } from 'yaml';
import { readsRaw, type AppendResult, type EventStore, type EventToAppend, type ExpectedRevision, type JsonObject, type JsonValue, type Position, type RawEvent, type RawEventReader, type ReadAllOptions, type ReadStreamOptions, type Snapshot, type SnapshotStore, type StoredEvent } from './port';

export const SEALED_FIELD = 'kronicle.io/encrypted';
const PREFIX = 'k8s:enc:aesgcm:v1:';

export interface EncryptionKey {
  readonly name: string;
  readonly secret: Buffer;
}

function seal(key: EncryptionKey, plaintext: string | Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv);
  const body = Buffer.concat([typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext), cipher.final()]);
  return `${PREFIX}${key.name}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')}`;
}

function open(keys: readonly EncryptionKey[], sealed: string): Buffer | undefined {
  if (!sealed.startsWith(PREFIX)) return undefined;
  const rest = sealed.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const key = keys.find((k) => k.name === rest.slice(0, colon));
  if (!key) return undefined;
  const raw = Buffer.from(rest.slice(colon + 1), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.secret, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSecretStream = (stream: string) => stream.startsWith('Secret-');

/** Reads keys from an EncryptionConfiguration (aesgcm provider) or a file holding one base64 key. */
export function loadEncryptionKeys(file: string): EncryptionKey[] {
  const text = fs.readFileSync(file, 'utf8');
  const doc = (() => {
    try {
      return parseYaml(text) as { kind?: string; resources?: Array<{ providers?: Array<{ aesgcm?: { keys?: Array<{ name: string; secret: string }> } }> }> };
    } catch {
      return undefined;
    }
  })();
  const keys: EncryptionKey[] = [];
  if (doc && typeof doc === 'object' && doc.kind === 'EncryptionConfiguration') {
    for (const r of doc.resources ?? []) for (const p of r.providers ?? []) for (const k of p.aesgcm?.keys ?? []) keys.push({ name: k.name, secret: Buffer.from(k.secret, 'base64') });
  } else keys.push({ name: 'key1', secret: Buffer.from(text.trim(), 'base64') });
  for (const k of keys) if (k.secret.length !== 32) throw new RangeError(`${file}: key ${k.name} is ${k.secret.length} bytes; AES-256-GCM takes 32 (base64 of 32 random bytes)`);
  if (keys.length === 0) throw new RangeError(`${file}: no aesgcm key`);
  return keys;
}

/** The data directory's key, made on first use (mode 0600). */
export function ensureEncryptionKeyFile(file: string): EncryptionKey[] {
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return loadEncryptionKeys(file);
}

export class EncryptingEventStore implements EventStore {
  readonly description: string;
  readonly snapshots?: SnapshotStore;
  readonly positionOfEvent?: (id: string) => Promise<Position | undefined>;

  constructor(
    private readonly inner: EventStore,
    private readonly keys: readonly EncryptionKey[],
  ) {
    this.description = inner.description;
    // Chained stores (the SQLite log) keep their `verify`: the chain covers the sealed bytes.
    const chained = (inner as Partial<{ chainedRows: unknown }>).chainedRows;
    if (typeof chained === 'function') (this as unknown as { chainedRows: unknown }).chainedRows = chained.bind(inner);
    // Raw events for large replays: a Secret's are opened like readAll's (rare: decoded and re-encoded).
    if (readsRaw(inner)) (this as unknown as RawEventReader).rawEvents = (after, to) => this.openRaw(inner.rawEvents(after, to));
    // Positions say nothing sealed: the id index is the inner store's.
    if (inner.positionOfEvent) this.positionOfEvent = inner.positionOfEvent.bind(inner);
    const snapshots = inner.snapshots;
    if (snapshots) {
      // A snapshot holds every Secret of its moment: sealed whole.
      this.snapshots = {
        saveSnapshot: (s: Snapshot) => snapshots.saveSnapshot({ ...s, data: Buffer.from(seal(this.keys[0], s.data)) }),
        loadSnapshot: async (p: Position, schema: number) => {
          const s = await snapshots.loadSnapshot(p, schema);
          if (!s) return undefined;
          const data = open(this.keys, s.data.toString());
          return data === undefined ? undefined : { ...s, data };
        },
        snapshotPositions: (schema: number) => snapshots.snapshotPositions(schema),
        dropSnapshotsExcept: (schema: number) => snapshots.dropSnapshotsExcept(schema),
      };
    }
  }

  append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (!isSecretStream(stream)) return this.inner.append(stream, events, expected);
    return this.inner.append(stream, events.map((e) => ({ ...e, data: this.sealEvent(e.data) })), expected);
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<readonly StoredEvent[]> {
    const events = await this.inner.readStream(stream, options);
    return isSecretStream(stream) ? events.map((e) => this.openEvent(e)) : events;
  }

  async readAll(options?: ReadAllOptions): Promise<readonly StoredEvent[]> {
    return (await this.inner.readAll(options)).map((e) => this.openEvent(e));
  }

  headPosition(): Promise<Position> {
    return this.inner.headPosition();
  }

  subscribeAll(from: Position): Observable<StoredEvent> {
    return this.inner.subscribeAll(from).pipe(map((e) => this.openEvent(e)));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private sealEvent(data: JsonValue): JsonValue {
    if (!isObject(data) || !isObject(data.object)) return data;
    const o = data.object;
    const meta = isObject(o.metadata) ? o.metadata : {};
    const clear: JsonObject = {
      apiVersion: o.apiVersion ?? 'v1',
      kind: o.kind ?? 'Secret',
      metadata: Object.fromEntries(Object.entries({ name: meta.name, namespace: meta.namespace, uid: meta.uid }).filter(([, v]) => v !== undefined)) as JsonObject,
      [SEALED_FIELD]: seal(this.keys[0], JSON.stringify(o)),
    };
    return { ...data, object: clear };
  }

  private *openRaw(events: Iterable<RawEvent>): Generator<RawEvent> {
    for (const e of events) {
      if (!isSecretStream(e.stream)) {
        yield e;
        continue;
      }
      let data: JsonValue;
      try {
        data = JSON.parse(e.data) as JsonValue;
      } catch {
        // Not JSON: the reader finds out as readAll's would, when it decodes the event.
        yield e;
        continue;
      }
      const opened = this.openData(data);
      yield opened === data ? e : { ...e, data: JSON.stringify(opened) };
    }
  }

  private openEvent(e: StoredEvent): StoredEvent {
    if (!isSecretStream(e.stream)) return e;
    const data = this.openData(e.data);
    return data === e.data ? e : { ...e, data };
  }

  /** A Secret event's payload with its object opened; the same payload when there is nothing to open. */
  private openData(data: JsonValue): JsonValue {
    if (!isObject(data) || !isObject(data.object)) return data;
    const sealed = data.object[SEALED_FIELD];
    if (typeof sealed !== 'string') return data;
    const bytes = open(this.keys, sealed);
    // Sealed with a key this Kronicle was not given: the object stays sealed (readable as such).
    if (bytes === undefined) return data;
    return { ...data, object: JSON.parse(bytes.toString('utf8')) as JsonObject };
  }
}
