import { mkdir } from 'node:fs/promises';
import { crashPointsArmed } from '../../core/faults.js';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Logger, Spool, SpoolEntry, SpoolRecord, SpoolStats } from '../../core/types.js';
import { SpoolFullError, silentLogger } from '../../core/types.js';
import { decodeRecord, encodeEntry, type EncodedEntry } from './spool-codec.js';
import type { AppendBatch, RawRows, ReclaimOptions, Reply, Request, SerializedError, StoreState } from './spool-protocol.js';
import { packPayloads, unpackPayloads } from './spool-protocol.js';
import { startSpoolWorker } from './start-worker.js';

export type { ReclaimOptions } from './spool-protocol.js';

export interface SqliteSpoolOptions {
  dir: string;
  maxBytes: number;
  logger?: Logger;
  /** Space reclamation tuning; the defaults suit production (tests make it eager). */
  reclaim?: ReclaimOptions;
}

export interface SqliteSpoolStats extends SpoolStats {
  /** Append calls acknowledged since open. */
  appendCalls: number;
  /** Transactions that held them: group commit makes this smaller than appendCalls under load. */
  appendTransactions: number;
  /** Append calls waiting for the next transaction. */
  queuedAppends: number;
}

const DEFAULT_RECLAIM: Required<ReclaimOptions> = {
  minFreePages: 16_384,
  stepPages: 512,
  walTruncateBytes: 64 * 1024 * 1024,
};

// Bounds one group commit, so a burst of large payloads does not become one giant transaction.
const MAX_GROUP_BYTES = 32 * 1024 * 1024;

type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type Callback = (err: Error | null, result: unknown) => void;

interface QueuedAppend {
  entries: EncodedEntry[];
  bytes: number;
  resolve(range: { firstOffset: number; lastOffset: number }): void;
  reject(err: Error): void;
}

/**
 * The durable spool (see `Spool` in core/types.ts) on SQLite in WAL mode with synchronous=FULL,
 * driven from a worker thread.
 *
 * Group commit: append() encodes and queues on the main thread. At most one append transaction
 * is at the worker at any time; every call that arrives while it runs joins the next
 * transaction, and each caller is answered with its own offsets once that transaction's COMMIT
 * (and its fsync) returned.
 */
export class SqliteSpool implements Spool {
  static async open(opts: SqliteSpoolOptions): Promise<SqliteSpool> {
    if (!(opts.maxBytes > 0)) throw new RangeError(`spool maxBytes must be positive, got ${opts.maxBytes}`);
    await mkdir(opts.dir, { recursive: true });
    const file = join(opts.dir, 'spool.db');
    const logger = (opts.logger ?? silentLogger).child({ component: 'spool' });
    const worker = startSpoolWorker({ file, reclaim: { ...DEFAULT_RECLAIM, ...opts.reclaim } });
    const state = await new Promise<StoreState>((resolve, reject) => {
      const done = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      const onMessage = (m: Reply): void => {
        if (m.type === 'opened') {
          done();
          resolve(m.state);
        } else if (m.type === 'open-failed') {
          done();
          // SPOOL_* errors are already written for the operator; SQLite's own need the file named.
          reject(m.error.code?.startsWith('SPOOL_') ? toError(m.error) : toError(m.error, `cannot open spool ${file}`));
        }
      };
      const onError = (err: Error): void => {
        done();
        void worker.terminate();
        reject(new Error(`spool worker for ${file} failed to start: ${err.message}`, { cause: err }));
      };
      const onExit = (code: number): void => {
        done();
        reject(new Error(`spool worker for ${file} exited with code ${code} before the spool was open`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    logger.info(
      { file, depthRecords: state.depthRecords, depthBytes: state.depthBytes, checkpoint: state.checkpoint, lastOffset: state.lastOffset },
      'spool open',
    );
    return new SqliteSpool(worker, file, opts.maxBytes, logger, state);
  }

  private readonly pending = new Map<number, Callback>();
  private nextId = 1;
  private readonly queue: QueuedAppend[] = [];
  private appendInFlight = false;
  /** Bytes of appends queued or at the worker, not yet in `state.depthBytes`. */
  private reservedBytes = 0;
  private appendCalls = 0;
  private drainWaiters: (() => void)[] = [];
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  private workerStopping = false;

  private constructor(
    private readonly worker: Worker,
    readonly file: string,
    private readonly maxBytes: number,
    private readonly logger: Logger,
    private state: StoreState,
  ) {
    worker.on('message', (m: Reply) => this.onMessage(m));
    worker.on('error', (err) => this.onWorkerGone(`it threw: ${err.message}`));
    worker.on('exit', (code) => this.onWorkerGone(`it exited with code ${code}`));
    // An idle spool must not keep the process alive; a pending request does (see send()).
    worker.unref();
  }

  append(entries: SpoolEntry[]): Promise<{ firstOffset: number; lastOffset: number }> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (!Array.isArray(entries) || entries.length === 0) {
      return Promise.reject(new TypeError('Spool.append needs at least one entry'));
    }
    let encoded: EncodedEntry[];
    try {
      encoded = entries.map(encodeEntry);
    } catch (err) {
      return Promise.reject(err);
    }
    let bytes = 0;
    for (const e of encoded) bytes += e.bytes;
    const depth = this.state.depthBytes + this.reservedBytes;
    if (depth + bytes > this.maxBytes) return Promise.reject(new SpoolFullError(depth, this.maxBytes));
    this.reservedBytes += bytes;
    return new Promise((resolve, reject) => {
      this.queue.push({ entries: encoded, bytes, resolve, reject });
      this.pump();
    });
  }

  async read(after: number, max: number): Promise<SpoolRecord[]> {
    assertOffset('read(after)', after);
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`read(max) must be a non-negative integer, got ${max}`);
    if (max === 0) return [];
    const rows = await this.call<RawRows>({ op: 'read', after, max });
    const payloads = unpackPayloads(rows.payloads);
    return rows.offsets.map((offset, i) => decodeRecord(offset, rows.metas[i], payloads[i]));
  }

  async commit(offset: number): Promise<void> {
    assertOffset('commit(offset)', offset);
    // Every acknowledged offset is already in the mirrored state, so this check is exact.
    if (offset > this.state.lastOffset) {
      throw new RangeError(`commit(${offset}) is beyond the last appended offset ${this.state.lastOffset}`);
    }
    await this.call({ op: 'commit', offset, armCrash: crashPointsArmed() });
  }

  checkpoint(): Promise<number> {
    return this.fromState((s) => s.checkpoint);
  }

  async setInflight(range: { from: number; to: number } | null): Promise<void> {
    if (range) {
      assertOffset('setInflight(from)', range.from);
      assertOffset('setInflight(to)', range.to);
      if (range.from > range.to) throw new RangeError(`setInflight: from ${range.from} is above to ${range.to}`);
    }
    await this.call({ op: 'setInflight', range: range && { from: range.from, to: range.to } });
  }

  inflight(): Promise<{ from: number; to: number } | null> {
    return this.fromState((s) => s.inflight && { ...s.inflight });
  }

  stats(): Promise<SqliteSpoolStats> {
    return this.fromState((s) => ({
      depthRecords: s.depthRecords,
      depthBytes: s.depthBytes,
      oldestUnwrittenAt: s.oldestUnwrittenAt,
      lastOffset: s.lastOffset,
      checkpoint: s.checkpoint,
      limitBytes: this.maxBytes,
      appendCalls: this.appendCalls,
      appendTransactions: s.appendTransactions,
      queuedAppends: this.queue.length,
    }));
  }

  /**
   * Waits for queued appends to commit, closes the database (checkpointing the WAL into the main
   * file) and stops the worker. Calls made after close() started are refused.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /**
   * Reclaims free space now and waits for it: shrinks the file and truncates the WAL as far as the
   * reclaim thresholds allow. Normally this runs by itself in small steps after commits.
   */
  async reclaimNow(): Promise<void> {
    await this.call({ op: 'reclaim' });
  }

  /** Test hook: runs a PRAGMA in the worker (e.g. max_page_count to provoke SQLITE_FULL). */
  pragmaForTests(pragma: string): Promise<unknown> {
    return this.call({ op: 'pragma', pragma });
  }

  private async shutDown(): Promise<void> {
    if (this.appendInFlight || this.queue.length > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
    if (this.failure) return;
    // From here on the worker's exit is expected, not a death to report.
    this.workerStopping = true;
    await new Promise<void>((resolve, reject) => this.send({ op: 'close' }, (err) => (err ? reject(err) : resolve())));
    await this.worker.terminate();
    this.failure = new Error(`spool ${this.file} is closed`);
  }

  private pump(): void {
    if (this.failure) {
      for (const q of this.queue.splice(0)) q.reject(this.failure);
      this.reservedBytes = 0;
    }
    if (this.appendInFlight) return;
    if (this.queue.length === 0) {
      for (const wake of this.drainWaiters.splice(0)) wake();
      return;
    }
    let groupBytes = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || groupBytes + this.queue[take].bytes <= MAX_GROUP_BYTES)) {
      groupBytes += this.queue[take].bytes;
      take++;
    }
    const group = this.queue.splice(0, take);
    const encoded = group.flatMap((q) => q.entries);
    const batch: AppendBatch = {
      metas: encoded.map((e) => e.meta),
      receivedAts: encoded.map((e) => e.receivedAt),
      bytes: encoded.map((e) => e.bytes),
      payloads: packPayloads(encoded.map((e) => e.payload)),
      counts: group.map((q) => q.entries.length),
    };
    this.appendInFlight = true;
    this.send(
      { op: 'append', batch },
      (err, result) => {
        this.appendInFlight = false;
        // The reply's state already counts these bytes when they were committed.
        if (!this.failure) this.reservedBytes -= groupBytes;
        if (err) {
          this.logger.error({ err, entries: encoded.length, calls: group.length }, 'spool append failed; not acknowledged');
          for (const q of group) q.reject(err);
        } else {
          const ranges = result as number[];
          this.appendCalls += group.length;
          group.forEach((q, i) => q.resolve({ firstOffset: ranges[2 * i], lastOffset: ranges[2 * i + 1] }));
        }
        this.pump();
      },
      [batch.payloads.buffer],
    );
  }

  private call<T>(req: RequestBody): Promise<T> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return new Promise<T>((resolve, reject) => this.send(req, (err, result) => (err ? reject(err) : resolve(result as T))));
  }

  private send(req: RequestBody, cb: Callback, transfer: ArrayBuffer[] = []): void {
    const id = this.nextId++;
    this.pending.set(id, cb);
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ ...req, id }, transfer);
  }

  private onMessage(m: Reply): void {
    if (m.type === 'log') {
      this.logger[m.level](m.obj, m.msg);
      return;
    }
    if (m.type !== 'reply') return;
    this.state = m.state;
    const cb = this.pending.get(m.id);
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.ok) cb?.(null, m.result);
    else cb?.(toError(m.error, `spool ${this.file}`), undefined);
  }

  private onWorkerGone(reason: string): void {
    if (this.failure) return;
    if (this.workerStopping) {
      this.failure = new Error(`spool ${this.file} is closed`);
    } else {
      this.failure = Object.assign(
        new Error(
          `spool worker for ${this.file} stopped (${reason}); nothing more is appended or acknowledged ` +
            `until Sensorpipe is restarted (acknowledged records are safe on disk)`,
        ),
        { code: 'SPOOL_WORKER_DIED' },
      );
      this.logger.error({ err: this.failure }, 'spool worker died');
    }
    const callbacks = [...this.pending.values()];
    this.pending.clear();
    for (const cb of callbacks) cb(this.failure, undefined);
    this.pump();
  }

  private refusal(): Error | null {
    if (this.failure) return this.failure;
    if (this.closing) return new Error(`spool ${this.file} is closed`);
    return null;
  }

  private fromState<T>(pick: (s: StoreState) => T): Promise<T> {
    const refused = this.refusal();
    return refused ? Promise.reject(refused) : Promise.resolve(pick(this.state));
  }
}

function toError(e: SerializedError, context?: string): Error {
  const message = context ? `${context}: ${e.message}${e.code ? ` (${e.code})` : ''}` : e.message;
  const err = e.name === 'RangeError' ? new RangeError(message) : new Error(message);
  return Object.assign(err, { code: e.code });
}

function assertOffset(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer offset, got ${n}`);
}
