/**
 * An in-process server speaking the EventStoreDB gRPC protocol (Streams: Read, Append,
 * BatchAppend; ServerFeatures), built on the service definitions that ship inside
 * @eventstore/db-client/generated. It is a test fixture for the esdb adapter — no EventStoreDB
 * server can be installed on these machines — not a replacement for EventStoreDB.
 *
 * Mirrors the real server where the adapter can tell (see shared/reference/eventstoredb-grpc.md):
 * revisions from 0; $all positions that are byte-offset-like (gaps, not counts); readAll forwards
 * inclusive, backwards exclusive; subscriptions exclusive, with confirmation, catch-up, caught-up,
 * then live; wrong-expected-version in band; idempotent appends on event ids; the maximum append
 * size; back-pressure on server streams. The log lives in the `StandInLog` object, so the server
 * can be stopped and started again on the same port with its data (for availability tests).
 */
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import * as streams from '@eventstore/db-client/generated/streams_pb';
import * as shared from '@eventstore/db-client/generated/shared_pb';
import * as features from '@eventstore/db-client/generated/serverfeatures_pb';
import * as status from '@eventstore/db-client/generated/status_pb';
import * as code from '@eventstore/db-client/generated/code_pb';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { Empty as GoogleEmpty } from 'google-protobuf/google/protobuf/empty_pb';

interface Rec {
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly type: string;
  readonly contentType: string;
  readonly created: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: bigint };

interface Proposed {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

type AppendOutcome =
  | { ok: true; revision: bigint; position: bigint }
  | { ok: false; kind: 'wrong_expected_version'; current: bigint }
  | { ok: false; kind: 'too_big'; max: number };

/** The stand-in's log: kept apart from the gRPC server so it survives a server restart. */
export class StandInLog {
  readonly all: Rec[] = [];
  private readonly streams = new Map<string, Rec[]>();
  private readonly byId = new Map<string, Rec>();
  readonly appended = new EventEmitter();
  private nextPosition = 1024n;

  constructor(readonly maxAppendSize = 1_048_576) {
    this.appended.setMaxListeners(0);
  }

  current(stream: string): bigint {
    const s = this.streams.get(stream);
    return s ? BigInt(s.length - 1) : -1n;
  }

  streamEvents(stream: string): Rec[] | undefined {
    return this.streams.get(stream);
  }

  append(stream: string, expected: Expected, proposed: Proposed[]): AppendOutcome {
    const size = proposed.reduce((n, p) => n + p.data.length + p.customMetadata.length, 0);
    if (size > this.maxAppendSize) return { ok: false, kind: 'too_big', max: this.maxAppendSize };
    const current = this.current(stream);
    // Idempotence: the same ids written by an earlier append with a compatible expectation.
    const first = proposed.length > 0 ? this.byId.get(proposed[0].id) : undefined;
    if (first && first.stream === stream) {
      const recs = proposed.map((p) => this.byId.get(p.id));
      const same = recs.every((r, i) => r && r.stream === stream && r.revision === first.revision + BigInt(i));
      if (same && holds(expected, first.revision - 1n)) {
        const last = recs[recs.length - 1] as Rec;
        return { ok: true, revision: last.revision, position: last.position };
      }
    }
    if (!holds(expected, current)) return { ok: false, kind: 'wrong_expected_version', current };
    const list = this.streams.get(stream) ?? [];
    let revision = current;
    const created = (BigInt(Date.now()) * 10_000n).toString();
    for (const p of proposed) {
      revision += 1n;
      const rec: Rec = { ...p, stream, revision, position: this.nextPosition, created };
      // Byte-offset-like positions: gaps, so that nothing may assume they count events.
      this.nextPosition += BigInt(128 + p.data.length + p.customMetadata.length);
      this.all.push(rec);
      list.push(rec);
      this.byId.set(p.id, rec);
    }
    this.streams.set(stream, list);
    this.appended.emit('appended');
    const last = list[list.length - 1];
    return { ok: true, revision: last.revision, position: last.position };
  }

  /** Index of the first record with position >= p. */
  indexAtOrAfter(p: bigint): number {
    let lo = 0;
    let hi = this.all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.all[mid].position < p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function holds(expected: Expected, current: bigint): boolean {
  switch (expected.kind) {
    case 'any':
      return true;
    case 'no_stream':
      return current === -1n;
    case 'stream_exists':
      return current >= 0n;
    case 'revision':
      return current === expected.revision;
  }
}

/**
 * The expectation of an Append or BatchAppend request. Both protos number the cases alike:
 * 2 = a revision, 3 = no stream, 4 = any, 5 = stream exists.
 */
function expectedOf(expectedCase: number, revision: () => string): Expected {
  switch (expectedCase) {
    case 2:
      return { kind: 'revision', revision: BigInt(revision()) };
    case 3:
      return { kind: 'no_stream' };
    case 5:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

const uuidOf = (u: shared.UUID | undefined): string => {
  if (!u) return randomUUID();
  if (u.hasString()) return u.getString().toLowerCase();
  const s = u.getStructured() as shared.UUID.Structured;
  const hex = (v: string) => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
  const h = hex(s.getMostSignificantBits()) + hex(s.getLeastSignificantBits());
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const streamNameOf = (id: shared.StreamIdentifier | undefined): string =>
  Buffer.from(id?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');

function proposedOf(m: streams.AppendReq.ProposedMessage | streams.BatchAppendReq.ProposedMessage): Proposed {
  const meta = m.getMetadataMap();
  return {
    id: uuidOf(m.getId()),
    type: meta.get('type') ?? '',
    contentType: meta.get('content-type') ?? 'application/octet-stream',
    data: m.getData_asU8(),
    customMetadata: m.getCustomMetadata_asU8(),
  };
}

function recordedOf(rec: Rec): streams.ReadResp {
  const r = new streams.ReadResp.ReadEvent.RecordedEvent();
  r.setId(new shared.UUID().setString(rec.id));
  r.setStreamIdentifier(new shared.StreamIdentifier().setStreamName(Buffer.from(rec.stream, 'utf8')));
  r.setStreamRevision(rec.revision.toString());
  r.setCommitPosition(rec.position.toString());
  r.setPreparePosition(rec.position.toString());
  const meta = r.getMetadataMap();
  meta.set('type', rec.type);
  meta.set('content-type', rec.contentType);
  meta.set('created', rec.created);
  r.setData(rec.data);
  r.setCustomMetadata(rec.customMetadata);
  const ev = new streams.ReadResp.ReadEvent().setEvent(r).setCommitPosition(rec.position.toString());
  return new streams.ReadResp().setEvent(ev);
}

function trailerError(codeValue: grpc.status, message: string, trailers: Record<string, string>): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(message), { code: codeValue, details: message, metadata }) as grpc.ServiceError;
}

/** Writes to a server stream, waiting for 'drain' when the transport pushes back. */
async function writeWithBackpressure(call: grpc.ServerWritableStream<streams.ReadReq, streams.ReadResp>, msg: streams.ReadResp, isCancelled: () => boolean): Promise<void> {
  if (!call.write(msg) && !isCancelled()) {
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off('drain', done);
        call.off('cancelled', done);
        resolve();
      };
      call.on('drain', done);
      call.on('cancelled', done);
    });
  }
}

export class EsdbStandIn {
  private server: grpc.Server | undefined;
  readonly log: StandInLog;
  port = 0;
  /** Number of calls per RPC name, for tests that check which path the client took. */
  readonly calls = new Map<string, number>();

  constructor(log = new StandInLog()) {
    this.log = log;
  }

  get connectionString(): string {
    return `esdb://127.0.0.1:${this.port}?tls=false`;
  }

  async start(port = 0): Promise<void> {
    const server = new grpc.Server();
    server.addService(StreamsService, {
      read: (call: grpc.ServerWritableStream<streams.ReadReq, streams.ReadResp>) => {
        this.count('read');
        void this.read(call);
      },
      append: (call: grpc.ServerReadableStream<streams.AppendReq, streams.AppendResp>, cb: grpc.sendUnaryData<streams.AppendResp>) => {
        this.count('append');
        this.appendRpc(call, cb);
      },
      batchAppend: (call: grpc.ServerDuplexStream<streams.BatchAppendReq, streams.BatchAppendResp>) => {
        this.count('batchAppend');
        this.batchAppendRpc(call);
      },
      delete: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'delete is not served by the stand-in' }),
      tombstone: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'tombstone is not served by the stand-in' }),
    });
    server.addService(ServerFeaturesService, {
      getSupportedMethods: (_call: unknown, cb: grpc.sendUnaryData<features.SupportedMethods>) => {
        this.count('getSupportedMethods');
        const m = (service: string, method: string) => new features.SupportedMethod().setServiceName(service).setMethodName(method);
        cb(
          null,
          new features.SupportedMethods()
            .setEventStoreServerVersion('24.10.0')
            .setMethodsList([
              m('event_store.client.streams.streams', 'read'),
              m('event_store.client.streams.streams', 'append'),
              m('event_store.client.streams.streams', 'batchappend'),
            ]),
        );
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
  }

  /** Stops at once, cutting open calls (as a crashed or partitioned server would). */
  async stop(): Promise<void> {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  private count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  private appendRpc(call: grpc.ServerReadableStream<streams.AppendReq, streams.AppendResp>, cb: grpc.sendUnaryData<streams.AppendResp>): void {
    let options: streams.AppendReq.Options | undefined;
    const proposed: Proposed[] = [];
    call.on('data', (req: streams.AppendReq) => {
      if (req.hasOptions()) options = req.getOptions();
      else if (req.hasProposedMessage()) proposed.push(proposedOf(req.getProposedMessage() as streams.AppendReq.ProposedMessage));
    });
    call.on('error', () => undefined);
    call.on('end', () => {
      if (!options) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'append without options' });
      const expected = expectedOf(options.getExpectedStreamRevisionCase(), () => options?.getRevision() ?? '0');
      const stream = streamNameOf(options.getStreamIdentifier());
      const outcome = this.log.append(stream, expected, proposed);
      const resp = new streams.AppendResp();
      if (outcome.ok) {
        const pos = new streams.AppendResp.Position().setCommitPosition(outcome.position.toString()).setPreparePosition(outcome.position.toString());
        resp.setSuccess(new streams.AppendResp.Success().setCurrentRevision(outcome.revision.toString()).setPosition(pos));
        return cb(null, resp);
      }
      if (outcome.kind === 'too_big') {
        return cb(trailerError(grpc.status.INVALID_ARGUMENT, 'Maximum Append Size Exceeded', { exception: 'maximum-append-size-exceeded', 'maximum-append-size': String(outcome.max) }));
      }
      const w = new streams.AppendResp.WrongExpectedVersion();
      if (outcome.current < 0n) {
        w.setCurrentNoStream(new shared.Empty());
        w.setNoStream2060(new shared.Empty());
      } else {
        w.setCurrentRevision(outcome.current.toString());
        w.setCurrentRevision2060(Number(outcome.current));
      }
      switch (expected.kind) {
        case 'any':
          w.setExpectedAny(new shared.Empty());
          w.setAny2060(new shared.Empty());
          break;
        case 'no_stream':
          w.setExpectedNoStream(new shared.Empty());
          break;
        case 'stream_exists':
          w.setExpectedStreamExists(new shared.Empty());
          w.setStreamExists2060(new shared.Empty());
          break;
        case 'revision':
          w.setExpectedRevision(expected.revision.toString());
          w.setExpectedRevision2060(Number(expected.revision));
          break;
      }
      resp.setWrongExpectedVersion(w);
      cb(null, resp);
    });
  }

  private batchAppendRpc(call: grpc.ServerDuplexStream<streams.BatchAppendReq, streams.BatchAppendResp>): void {
    const pending = new Map<string, { options: streams.BatchAppendReq.Options; proposed: Proposed[] }>();
    call.on('error', () => undefined);
    call.on('data', (req: streams.BatchAppendReq) => {
      const correlation = uuidOf(req.getCorrelationId());
      let entry = pending.get(correlation);
      if (!entry) {
        entry = { options: req.getOptions() as streams.BatchAppendReq.Options, proposed: [] };
        pending.set(correlation, entry);
      }
      for (const m of req.getProposedMessagesList()) entry.proposed.push(proposedOf(m));
      if (!req.getIsFinal()) return;
      pending.delete(correlation);
      const o = entry.options;
      const expected = expectedOf(o.getExpectedStreamPositionCase(), () => o.getStreamPosition());
      const streamId = o.getStreamIdentifier() as shared.StreamIdentifier;
      const outcome = this.log.append(streamNameOf(streamId), expected, entry.proposed);
      const resp = new streams.BatchAppendResp().setCorrelationId(new shared.UUID().setString(correlation)).setStreamIdentifier(streamId);
      if (outcome.ok) {
        const pos = new shared.AllStreamPosition().setCommitPosition(outcome.position.toString()).setPreparePosition(outcome.position.toString());
        resp.setSuccess(new streams.BatchAppendResp.Success().setCurrentRevision(outcome.revision.toString()).setPosition(pos));
      } else {
        const details = new Any();
        const st = new status.Status();
        if (outcome.kind === 'too_big') {
          details.pack(new shared.MaximumAppendSizeExceeded().setMaxappendsize(outcome.max).serializeBinary(), 'event_store.client.MaximumAppendSizeExceeded');
          st.setCode(code.Code.INVALID_ARGUMENT).setMessage('Maximum Append Size Exceeded');
        } else {
          const w = new shared.WrongExpectedVersion();
          if (outcome.current < 0n) w.setCurrentNoStream(new GoogleEmpty());
          else w.setCurrentStreamRevision(outcome.current.toString());
          if (expected.kind === 'revision') w.setExpectedStreamPosition(expected.revision.toString());
          else if (expected.kind === 'no_stream') w.setExpectedNoStream(new GoogleEmpty());
          else if (expected.kind === 'stream_exists') w.setExpectedStreamExists(new GoogleEmpty());
          else w.setExpectedAny(new GoogleEmpty());
          details.pack(w.serializeBinary(), 'event_store.client.WrongExpectedVersion');
          st.setCode(code.Code.ALREADY_EXISTS).setMessage('Wrong expected version');
        }
        st.setDetails(details);
        resp.setError(st);
      }
      call.write(resp);
    });
    call.on('end', () => call.end());
  }

  private async read(call: grpc.ServerWritableStream<streams.ReadReq, streams.ReadResp>): Promise<void> {
    let cancelled = false;
    call.on('cancelled', () => (cancelled = true));
    call.on('error', () => (cancelled = true));
    const options = call.request.getOptions() as streams.ReadReq.Options;
    const O = streams.ReadReq.Options;
    const backwards = options.getReadDirection() === O.ReadDirection.BACKWARDS;
    const subscription = options.getCountOptionCase() === O.CountOptionCase.SUBSCRIPTION;
    const max = subscription ? Number.MAX_SAFE_INTEGER : Number(BigInt(options.getCount() || '0'));
    const write = (msg: streams.ReadResp) => writeWithBackpressure(call, msg, () => cancelled);
    try {
      if (options.getStreamOptionCase() === O.StreamOptionCase.STREAM) {
        const so = options.getStream() as streams.ReadReq.Options.StreamOptions;
        const name = streamNameOf(so.getStreamIdentifier());
        const RC = streams.ReadReq.Options.StreamOptions.RevisionOptionCase;
        if (subscription) {
          await write(new streams.ReadResp().setConfirmation(new streams.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID())));
          // Exclusive of the given revision; END means only new events.
          let next = so.getRevisionOptionCase() === RC.REVISION ? Number(BigInt(so.getRevision())) + 1 : so.getRevisionOptionCase() === RC.END ? this.log.streamEvents(name)?.length ?? 0 : 0;
          await this.follow(call, () => cancelled, write, () => {
            const list = this.log.streamEvents(name) ?? [];
            const page = list.slice(next, next + 256);
            next += page.length;
            return page;
          });
          return;
        }
        const list = this.log.streamEvents(name);
        if (!list) {
          await write(new streams.ReadResp().setStreamNotFound(new streams.ReadResp.StreamNotFound().setStreamIdentifier(so.getStreamIdentifier())));
          call.end();
          return;
        }
        let items: Rec[];
        if (backwards) {
          const from = so.getRevisionOptionCase() === RC.REVISION ? Math.min(Number(BigInt(so.getRevision())), list.length - 1) : list.length - 1;
          items = list.slice(Math.max(0, from - max + 1), from + 1).reverse();
        } else {
          const from = so.getRevisionOptionCase() === RC.REVISION ? Number(BigInt(so.getRevision())) : so.getRevisionOptionCase() === RC.END ? list.length : 0;
          items = list.slice(from, from + max);
        }
        for (const rec of items) {
          if (cancelled) return;
          await write(recordedOf(rec));
        }
        call.end();
        return;
      }
      // $all
      const ao = options.getAll() as streams.ReadReq.Options.AllOptions;
      const AC = streams.ReadReq.Options.AllOptions.AllOptionCase;
      const at = ao.getAllOptionCase() === AC.POSITION ? BigInt((ao.getPosition() as streams.ReadReq.Options.Position).getCommitPosition()) : undefined;
      if (subscription) {
        await write(new streams.ReadResp().setConfirmation(new streams.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID())));
        // Exclusive of the given position.
        let next = at !== undefined ? this.log.indexAtOrAfter(at + 1n) : ao.getAllOptionCase() === AC.END ? this.log.all.length : 0;
        await this.follow(call, () => cancelled, write, () => {
          const page = this.log.all.slice(next, next + 256);
          next += page.length;
          return page;
        });
        return;
      }
      let items: Rec[];
      if (backwards) {
        const end = at !== undefined ? this.log.indexAtOrAfter(at) : ao.getAllOptionCase() === AC.START ? 0 : this.log.all.length;
        items = this.log.all.slice(Math.max(0, end - max), end).reverse();
      } else {
        const start = at !== undefined ? this.log.indexAtOrAfter(at) : ao.getAllOptionCase() === AC.END ? this.log.all.length : 0;
        items = this.log.all.slice(start, start + max);
      }
      for (const rec of items) {
        if (cancelled) return;
        await write(recordedOf(rec));
      }
      call.end();
    } catch {
      if (!cancelled) call.destroy();
    }
  }

  /** Catch-up, caught-up, then live, pulling pages from a cursor so nothing is skipped or repeated. */
  private async follow(
    call: grpc.ServerWritableStream<streams.ReadReq, streams.ReadResp>,
    isCancelled: () => boolean,
    write: (m: streams.ReadResp) => Promise<void>,
    nextPage: () => Rec[],
  ): Promise<void> {
    let caughtUp = false;
    let wake: (() => void) | undefined;
    // Set by every append, so one that lands while a write is awaited is never missed.
    let dirty = false;
    const onAppend = () => {
      dirty = true;
      wake?.();
    };
    this.log.appended.on('appended', onAppend);
    const onGone = () => wake?.();
    call.on('cancelled', onGone);
    try {
      while (!isCancelled()) {
        dirty = false;
        const page = nextPage();
        for (const rec of page) {
          if (isCancelled()) return;
          await write(recordedOf(rec));
        }
        if (page.length > 0) continue;
        if (!caughtUp) {
          caughtUp = true;
          await write(new streams.ReadResp().setCaughtUp(new streams.ReadResp.CaughtUp()));
        }
        if (dirty || isCancelled()) continue;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.log.appended.off('appended', onAppend);
      call.off('cancelled', onGone);
    }
  }
}
