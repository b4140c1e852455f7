import { randomUUID } from 'node:crypto';
import {
  connect,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
} from 'nats';
import { SpoolFullError, type Logger, type Spool, type SpoolEntry, type SpoolRecord, type SpoolStats } from '../../core/types.js';
import { decodeRecord, encodeEntry } from './spool-codec.js';
import { crashPoint } from '../../core/faults.js';

export interface JetStreamSpoolOptions {
  /** NATS servers, e.g. `nats://127.0.0.1:4222`. */
  servers: string[];
  /** Stream name; its subject is `<stream>.entries`, its state bucket `<stream>_state`. */
  stream: string;
  /** Stream size limit; at the limit appends fail with SpoolFullError (discard policy "new"). */
  maxBytes: number;
  /** Oldest entries the stream keeps even if no writer committed them (0: no age limit). */
  maxAgeS: number;
  /** Window in which JetStream drops a re-published message with the same Nats-Msg-Id. */
  duplicateWindowS: number;
  /** Stream replicas (1 on a single server; 3 on a cluster for durability without fsync per write). */
  replicas: number;
  user?: string;
  pass?: string;
  token?: string;
  name?: string;
  logger?: Logger;
}

/** Per-message bytes the file store adds (sequence, timestamp, lengths, checksum): an estimate, on the safe side. */
const STORE_OVERHEAD = 48;

/**
 * The spool on NATS JetStream, for the scaled-out mode: every collector appends to one stream,
 * one writer (the leader) reads it in sequence order and hands contiguous ranges to the sinks.
 *
 * Offsets are stream sequence numbers. `append` resolves when JetStream answered every publish
 * with a PubAck (stored; with `sync_interval: always` on the server, or 3 replicas, durable), so a
 * source may acknowledge then. Each publish carries a `Nats-Msg-Id`, so a client-level retry of the
 * same publish is stored once. The checkpoint and the in-flight range live in a KV bucket; after the
 * sinks commit a range, `commit` records the checkpoint and purges the stream below it (that is the
 * "ack after the sinks commit"). A writer that dies re-reads from the checkpoint, the in-flight
 * range first, by sequence: the replay is the same range with the same lake file names, which a
 * durable consumer's redelivery (any order, any grouping) would not give.
 */
export class JetStreamSpool implements Spool {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly opts: JetStreamSpoolOptions,
  ) {}

  get subject(): string {
    return `${this.opts.stream}.entries`;
  }

  static async open(opts: JetStreamSpoolOptions): Promise<JetStreamSpool> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: opts.servers, name: opts.name ?? 'sensorpipe', user: opts.user, pass: opts.pass, token: opts.token, maxReconnectAttempts: -1 });
    } catch (err) {
      throw new Error(`could not connect to NATS at ${opts.servers.join(', ')}: ${(err as Error).message}. Check spool.jetstream.servers and that nats-server runs with JetStream (-js).`);
    }
    try {
      const jsm = await nc.jetstreamManager();
      const config = {
        name: opts.stream,
        subjects: [`${opts.stream}.entries`],
        storage: StorageType.File,
        // A backstop only: appends stop at maxBytes (see append); concurrent collectors may overshoot a little.
        max_bytes: opts.maxBytes * 2,
        max_age: opts.maxAgeS > 0 ? nanos(opts.maxAgeS * 1000) : 0,
        discard: DiscardPolicy.New,
        duplicate_window: nanos(opts.duplicateWindowS * 1000),
        num_replicas: opts.replicas,
      };
      const exists = await jsm.streams.info(opts.stream).then(
        () => true,
        () => false,
      );
      if (exists) await jsm.streams.update(opts.stream, config);
      else await jsm.streams.add(config);
      const js = nc.jetstream();
      const kv = await js.views.kv(`${opts.stream}_state`, { history: 1, replicas: opts.replicas });
      return new JetStreamSpool(nc, js, jsm, kv, opts);
    } catch (err) {
      await nc.close();
      throw new Error(`JetStream is not usable on ${opts.servers.join(', ')} for stream "${opts.stream}": ${(err as Error).message}. Is the server started with -js?`);
    }
  }

  /** Stream bytes as last asked (refreshed at most every 200 ms) plus what we appended since. */
  private knownBytes = 0;
  private knownAt = 0;

  private async depthBytes(): Promise<number> {
    if (Date.now() - this.knownAt > 200) {
      this.knownBytes = (await this.jsm.streams.info(this.opts.stream)).state.bytes;
      this.knownAt = Date.now();
    }
    return this.knownBytes;
  }

  async append(entries: SpoolEntry[]): Promise<{ firstOffset: number; lastOffset: number }> {
    const datas = entries.map((entry) => {
      const e = encodeEntry(entry);
      const meta = Buffer.from(e.meta);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(meta.length);
      return Buffer.concat([head, meta, e.payload ?? Buffer.alloc(0)]);
    });
    // Our own limit, below the stream's: at its max_bytes nats-server 2.9 was seen to drop the
    // oldest message despite discard "new" (store and pre-check count sizes differently), and
    // the oldest is an acknowledged message no sink has yet.
    const size = datas.reduce((n, d) => n + d.length + STORE_OVERHEAD + this.subject.length, 0);
    const depth = await this.depthBytes();
    if (depth + size > this.opts.maxBytes) throw new SpoolFullError(depth, this.opts.maxBytes);
    this.knownBytes += size;
    const acks = await Promise.all(
      datas.map(async (data) => {
        try {
          return await this.js.publish(this.subject, data, { msgID: randomUUID() });
        } catch (err) {
          const apiError = (err as { api_error?: { description?: string } }).api_error;
          if (/maximum (bytes|messages) exceeded|insufficient resources/i.test(`${apiError?.description ?? ''} ${(err as Error).message}`)) {
            throw new SpoolFullError(await this.depthBytes(), this.opts.maxBytes);
          }
          throw err;
        }
      }),
    );
    const seqs = acks.map((a) => a.seq);
    return { firstOffset: Math.min(...seqs), lastOffset: Math.max(...seqs) };
  }

  async read(after: number, max: number): Promise<SpoolRecord[]> {
    const info = await this.jsm.streams.info(this.opts.stream);
    const want = Math.min(max, info.state.last_seq - after);
    const out: SpoolRecord[] = [];
    let next = Math.max(after + 1, info.state.first_seq);
    // A fetch may end early (its byte budget, a consumer reset); fetch again from where it stopped.
    while (out.length < want && next <= info.state.last_seq && info.state.messages > 0) {
      const consumer = await this.js.consumers.get(this.opts.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next });
      let got = 0;
      try {
        const batch = await consumer.fetch({ max_messages: want - out.length, expires: 1000 });
        for await (const m of batch) {
          const buf = Buffer.from(m.data);
          const len = buf.readUInt32BE(0);
          const meta = buf.subarray(4, 4 + len).toString();
          out.push(decodeRecord(m.seq, meta, meta.startsWith('["r1"') ? null : Buffer.from(buf.subarray(4 + len))));
          next = m.seq + 1;
          got++;
          if (out.length >= want) break;
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
      if (got === 0) break;
    }
    return out;
  }

  async commit(offset: number): Promise<void> {
    if (offset <= (await this.checkpoint())) return;
    await this.kv.put('checkpoint', String(offset));
    crashPoint('spool.commit'); // checkpoint recorded, stream not purged yet: the purge must not matter
    // Everything <= offset is in every sink: JetStream may drop it.
    await this.jsm.streams.purge(this.opts.stream, { seq: offset + 1 });
    this.knownAt = 0;
  }

  async checkpoint(): Promise<number> {
    const e = await this.kv.get('checkpoint');
    return e && e.operation === 'PUT' ? Number(Buffer.from(e.value).toString()) : 0;
  }

  async setInflight(range: { from: number; to: number } | null): Promise<void> {
    if (range) await this.kv.put('inflight', JSON.stringify(range));
    else await this.kv.delete('inflight');
  }

  async inflight(): Promise<{ from: number; to: number } | null> {
    const e = await this.kv.get('inflight');
    return e && e.operation === 'PUT' && e.value.length > 0 ? (JSON.parse(Buffer.from(e.value).toString()) as { from: number; to: number }) : null;
  }

  async stats(): Promise<SpoolStats> {
    const info = await this.jsm.streams.info(this.opts.stream);
    let oldestUnwrittenAt: number | null = null;
    if (info.state.messages > 0) {
      const first = await this.jsm.streams.getMessage(this.opts.stream, { seq: info.state.first_seq }).catch(() => null);
      oldestUnwrittenAt = first ? first.time.getTime() : null;
    }
    return {
      depthRecords: info.state.messages,
      depthBytes: info.state.bytes,
      oldestUnwrittenAt,
      lastOffset: info.state.last_seq,
      checkpoint: await this.checkpoint(),
      limitBytes: this.opts.maxBytes,
    };
  }

  /** Deletes the stream and its state bucket (tests, and `sensorpipe` never calls it itself). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.opts.stream).catch(() => undefined);
    await this.kv.destroy().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
