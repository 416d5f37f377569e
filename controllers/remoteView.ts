/**
 * The cluster as a remote API server shows it, for controllers and nodes in their own process
 * (`kronicle controllers --server URL`, `kronicle node --server URL`): every kind listed, then
 * watched from the list's resourceVersion (re-watched from the last one seen when a watch ends,
 * relisted after a 410), folded into the same object stores the live projection uses. Watches
 * ask for each change's event id (`kronicleCause=true`), which the controllers name as their
 * cause; `eventAt` reads a log position's event through `/kronicle/v1/log`.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Subject, type Observable } from 'rxjs';
import { KINDS, type KindSpec } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import type { Recorded } from '../core/events/envelope';
import type { ObjectEvent } from '../core/events/types';
import { ObjectStore, type Change, type ClusterView } from '../projections';

const streamKey = (o: KubeObject) => `${o.kind}-${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export class RemoteView implements ClusterView {
  private readonly stores = new Map<string, ObjectStore>(KINDS.map((k) => [k.kind, new ObjectStore(k.kind)]));
  private readonly subject = new Subject<Change>();
  private readonly requests = new Set<http.ClientRequest>();
  private waiters: Array<{ position: bigint; kind?: string; resolve: () => void }> = [];
  /** The last resourceVersion each kind's list or watch delivered. */
  private readonly kindPositions = new Map<string, bigint>();
  private stopped = false;
  private _position = 0n;

  constructor(
    private readonly baseUrl: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  get position(): bigint {
    return this._position;
  }

  get changes(): Observable<Change> {
    return this.subject;
  }

  store(kind: string): ObjectStore {
    const s = this.stores.get(kind);
    if (!s) throw new RangeError(`unknown kind ${kind}`);
    return s;
  }

  /** Lists every kind and starts watching; resolves once every list is in. */
  async start(): Promise<void> {
    await Promise.all(KINDS.map(async (k) => this.watchFrom(k, await this.list(k))));
  }

  stop(): void {
    this.stopped = true;
    for (const r of this.requests) r.destroy();
    this.subject.complete();
  }

  /**
   * Resolves once the view has seen `position` — on the watch of `kind` when given, since each
   * kind is its own watch (read-your-writes after an action) — or after `timeoutMs`.
   */
  waitFor(position: bigint, kind?: string, timeoutMs = 5000): Promise<void> {
    if (position <= (kind ? this.kindPositions.get(kind) ?? 0n : this._position)) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { position, kind, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve();
      }, timeoutMs).unref?.();
    });
  }

  async eventAt(position: bigint): Promise<{ id: string; correlationId?: string } | undefined> {
    const r = await this.get(`/kronicle/v1/log/${position}`);
    if (r.status !== 200) return undefined;
    const e = JSON.parse(r.body) as { id: string; metadata?: { correlationId?: string } };
    return { id: e.id, correlationId: e.metadata?.correlationId };
  }

  private path(k: KindSpec): string {
    return `${k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`}/${k.plural}`;
  }

  private async list(k: KindSpec): Promise<string> {
    const r = await this.get(this.path(k));
    if (r.status !== 200) throw new Error(`listing ${k.plural}: HTTP ${r.status}`);
    const list = JSON.parse(r.body) as { metadata: { resourceVersion: string }; items: KubeObject[] };
    const store = this.store(k.kind);
    const seen = new Set<string>();
    for (const item of list.items) {
      const o = { ...item, kind: k.kind, apiVersion: k.apiVersion } as KubeObject;
      const key = streamKey(o);
      seen.add(key);
      const prev = store.getByStream(key);
      store.put(key, { object: o, position: BigInt(o.metadata.resourceVersion ?? '0'), revision: -1n });
      if (!prev || prev.object.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit(prev ? 'MODIFIED' : 'ADDED', o, undefined);
    }
    for (const s of store.list()) {
      const key = streamKey(s.object as KubeObject);
      if (!seen.has(key)) {
        store.put(key, undefined);
        this.emit('DELETED', s.object as KubeObject, undefined);
      }
    }
    this.advance(BigInt(list.metadata.resourceVersion), k.kind);
    return list.metadata.resourceVersion;
  }

  private watchFrom(k: KindSpec, resourceVersion: string): void {
    if (this.stopped) return;
    let last = resourceVersion;
    let buffer = '';
    const url = `${this.baseUrl}${this.path(k)}?watch=true&allowWatchBookmarks=true&kronicleCause=true&resourceVersion=${last}`;
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { rejectUnauthorized: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const e = JSON.parse(line) as { type: string; object: KubeObject & { code?: number }; kronicle?: { eventId: string; correlationId: string; position: string } };
          if (e.type === 'ERROR') {
            last = '';
            continue;
          }
          const rv = e.object.metadata?.resourceVersion;
          if (rv) last = rv;
          if (e.type === 'BOOKMARK') {
            if (rv) this.advance(BigInt(rv), k.kind);
            continue;
          }
          const o = { ...e.object, kind: k.kind, apiVersion: k.apiVersion } as KubeObject;
          const key = streamKey(o);
          const store = this.store(k.kind);
          if (e.type === 'DELETED') store.put(key, undefined);
          else store.put(key, { object: o, position: BigInt(rv ?? '0'), revision: -1n });
          this.emit(e.type as Change['type'], o, e.kronicle);
          if (rv) this.advance(BigInt(rv), k.kind);
        }
      });
      res.on('end', () => this.rewatch(k, last));
      res.on('error', () => this.rewatch(k, last));
    });
    req.on('error', () => this.rewatch(k, last));
    this.requests.add(req);
    req.on('close', () => this.requests.delete(req));
  }

  private rewatch(k: KindSpec, last: string): void {
    if (this.stopped) return;
    setTimeout(() => {
      if (this.stopped) return;
      if (last === '') {
        this.list(k).then(
          (rv) => this.watchFrom(k, rv),
          (err) => {
            this.log(`relisting ${k.plural}: ${(err as Error).message}`);
            this.rewatch(k, '');
          },
        );
      } else this.watchFrom(k, last);
    }, 200).unref?.();
  }

  private emit(type: Change['type'], object: KubeObject, cause: { eventId: string; correlationId: string } | undefined): void {
    const position = BigInt(object.metadata.resourceVersion ?? '0');
    const event = { id: cause?.eventId ?? '', metadata: { correlationId: cause?.correlationId } } as unknown as Recorded<ObjectEvent>;
    this.subject.next({ type, kind: object.kind as string, object, position, event });
  }

  private advance(position: bigint, kind: string): void {
    if (position > (this.kindPositions.get(kind) ?? 0n)) this.kindPositions.set(kind, position);
    if (position > this._position) this._position = position;
    const reached = (w: { position: bigint; kind?: string }) => w.position <= (w.kind ? this.kindPositions.get(w.kind) ?? 0n : this._position);
    const ready = this.waiters.filter(reached);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !reached(w));
    ready.forEach((w) => w.resolve());
  }

  private get(path: string): Promise<{ status: number; body: string }> {
    const url = `${this.baseUrl}${path}`;
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.get(url, { rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
    });
  }
}
