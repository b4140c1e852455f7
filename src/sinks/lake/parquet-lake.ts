/**
 * The lake logic every store shares: split a spool batch into Hive partitions (layout.ts), encode
 * each partition's rows as one sorted zstd Parquet file (parquet-encoder.ts), publish the files
 * atomically through the store, then advance the lake's high-water mark.
 */
import type { Lake } from '../../core/sinks.js';
import { silentLogger, type DerivedQuarantine, type Logger, type SinkBatch } from '../../core/types.js';
import { COMMITTED_OFFSET_PATH, quarantineFilePath, rawFilePath, type LakePartitioning } from './layout.js';
import { ensureManifest } from './manifest.js';
import { ParquetEncoderThread } from './encoder-thread.js';
import type { EncodeJob, ParquetEncoding, QuarantineRow, RawRow } from './parquet-encoder.js';
import type { LakeStore, StagedFile } from './store.js';

export interface ParquetLakeOptions {
  partitioning: LakePartitioning;
  encoding: ParquetEncoding;
  logger?: Logger;
}

/** Rows of one batch grouped by the file they go to, keyed by relative path. */
export interface BatchFiles {
  raw: Map<string, RawRow[]>;
  quarantine: Map<string, QuarantineRow[]>;
}

function push<R>(map: Map<string, R[]>, key: string, row: R): void {
  const rows = map.get(key);
  if (rows) rows.push(row);
  else map.set(key, [row]);
}

/**
 * Every accepted reading of every 'message' record goes to raw (duplicates included: the raw layer
 * keeps what was received); quarantined items and the warehouse's conflicts go to quarantine;
 * 'rejected' records write nothing.
 */
export function splitBatch(batch: SinkBatch, conflicts: DerivedQuarantine[], partitioning: LakePartitioning): BatchFiles {
  return { raw: splitRaw(batch, partitioning), quarantine: splitQuarantine(batch, conflicts) };
}

/** The raw files of a batch: they do not depend on the warehouse's verdict. */
function splitRaw(batch: SinkBatch, partitioning: LakePartitioning): Map<string, RawRow[]> {
  const raw = new Map<string, RawRow[]>();
  const from = batch.fromOffset;
  for (const rec of batch.records) {
    if (rec.kind !== 'message') continue;
    const m = rec.message;
    for (const r of rec.readings) {
      push(raw, rawFilePath(partitioning, r.ts, r.sensorId, from), {
        sensorId: r.sensorId,
        metric: r.metric,
        ts: r.ts,
        value: r.value,
        seq: r.seq,
        receivedAt: m.receivedAt,
        source: m.source,
        topic: m.topic,
        deviceId: m.deviceId,
        offset: rec.offset,
      });
    }
  }
  return raw;
}

function splitQuarantine(batch: SinkBatch, conflicts: DerivedQuarantine[]): Map<string, QuarantineRow[]> {
  const quarantine = new Map<string, QuarantineRow[]>();
  const from = batch.fromOffset;
  for (const rec of batch.records) {
    if (rec.kind !== 'message') continue;
    const m = rec.message;
    for (const q of rec.quarantined) {
      push(quarantine, quarantineFilePath(m.receivedAt, q.reason, from), {
        receivedAt: m.receivedAt,
        source: m.source,
        topic: m.topic,
        deviceId: m.deviceId,
        sensorId: q.sensorId,
        metric: q.metric,
        ts: q.ts,
        reason: q.reason,
        detail: q.detail,
        payload: q.payload,
        offset: rec.offset,
      });
    }
  }
  for (const c of conflicts) {
    push(quarantine, quarantineFilePath(c.receivedAt, c.reason, from), {
      receivedAt: c.receivedAt,
      source: c.source,
      topic: c.topic,
      deviceId: c.deviceId,
      sensorId: c.sensorId,
      metric: c.metric,
      ts: c.ts,
      reason: c.reason,
      detail: c.detail,
      payload: c.payload,
      offset: c.offset,
    });
  }
  return quarantine;
}

export class ParquetLake implements Lake {
  protected readonly log: Logger;
  private encoder: ParquetEncoderThread | null = null;
  private opening: Promise<void> | null = null;
  private committed = 0;
  /** Writes run one after another on the lake's single DuckDB connection. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: LakeStore,
    private readonly opts: ParquetLakeOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'lake', lake: store.location });
  }

  get partitioning(): LakePartitioning {
    return this.opts.partitioning;
  }

  /** Idempotent. Removes leftovers of a write interrupted by a crash, reads the high-water mark. */
  open(): Promise<void> {
    this.opening ??= this.doOpen().catch((err) => {
      this.opening = null;
      throw err;
    });
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    const removed = await this.store.removeLeftovers();
    if (removed.length > 0) {
      this.log.warn({ removed }, `removed ${removed.length} temporary file(s) left by a write that was interrupted (a crash mid-batch); the batch is rewritten when the spool replays it`);
    }
    this.committed = await this.readCommitted();
    await ensureManifest(this.store); // SQL readers of the lake open it (docs/lake.md, reader rule)
    this.encoder = await ParquetEncoderThread.create(this.opts.encoding);
  }

  writeBatch(batch: SinkBatch, conflicts: DerivedQuarantine[] | PromiseLike<DerivedQuarantine[]>): Promise<{ files: string[] }> {
    const verdict = Promise.resolve(conflicts);
    // Awaited in write(), possibly after it rejected (the warehouse failed): not an unhandled rejection.
    verdict.catch(() => undefined);
    const run = this.queue.then(() => this.write(batch, verdict));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Raw files are encoded while the warehouse decides (they do not depend on it); quarantine files
   * need its conflicts. Nothing is published before the verdict arrived, so a failed warehouse
   * write leaves no lake files behind (the writer retries the same range).
   */
  private async write(batch: SinkBatch, conflicts: Promise<DerivedQuarantine[]>): Promise<{ files: string[] }> {
    const encoder = await this.liveEncoder();
    const started = Date.now();
    const staged: StagedFile[] = [];
    let encodedAt = started;
    try {
      const rawJobs = await this.stageAll(splitRaw(batch, this.opts.partitioning), staged);
      const rawEncoded = encoder.writeRaw(rawJobs);
      rawEncoded.catch(() => undefined); // awaited below, after the verdict
      // Settle the encoding before leaving on a failed verdict: its files must not appear after discard().
      const verdict = await conflicts.catch(async (err: unknown) => {
        await rawEncoded.catch(() => undefined);
        throw err;
      });
      const quarantineJobs = await this.stageAll(splitQuarantine(batch, verdict), staged);
      await rawEncoded;
      await encoder.writeQuarantine(quarantineJobs);
      encodedAt = Date.now();
      await this.store.publish(staged);
    } catch (err) {
      await this.store.discard(staged.map((s) => s.staged));
      throw err;
    }
    if (batch.toOffset > this.committed) {
      await this.store.writeText(COMMITTED_OFFSET_PATH, `${batch.toOffset}\n`);
      this.committed = batch.toOffset;
    }
    const files = staged.map((s) => s.relPath).sort();
    const done = Date.now();
    this.log.debug({ from: batch.fromOffset, to: batch.toOffset, files: files.length, encodeMs: encodedAt - started, publishMs: done - encodedAt }, 'lake batch written');
    return { files };
  }

  /** The encoder thread, started again when the previous one died (the batch is then rewritten whole). */
  private async liveEncoder(): Promise<ParquetEncoderThread> {
    if (!this.encoder) throw new Error('lake is not open (call open() first)');
    if (!this.encoder.alive) {
      this.log.warn('the lake encoder thread had stopped; starting a new one');
      this.encoder = await ParquetEncoderThread.create(this.opts.encoding);
    }
    return this.encoder;
  }

  private async stageAll<R>(groups: Map<string, R[]>, staged: StagedFile[]): Promise<EncodeJob<R>[]> {
    const entries = [...groups];
    const paths = await Promise.all(entries.map(([relPath]) => this.store.stage(relPath)));
    return entries.map(([relPath, rows], i) => {
      staged.push({ staged: paths[i], relPath });
      return { path: paths[i], rows };
    });
  }

  /** The last spool offset of the newest batch whose files are all published (0 before the first). */
  async committedOffset(): Promise<number> {
    return this.encoder ? this.committed : this.readCommitted();
  }

  private async readCommitted(): Promise<number> {
    const text = await this.store.readText(COMMITTED_OFFSET_PATH);
    const offset = text === null ? 0 : Number(text.trim());
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new Error(
        `lake state ${COMMITTED_OFFSET_PATH} in ${this.store.location} holds ${JSON.stringify(text)}, not a spool offset; ` +
          'delete it (the lake then reports 0 and rewriting replayed batches is harmless)',
      );
    }
    return offset;
  }

  /** Waits for the write in progress, then releases the DuckDB instance. The lake may be opened again. */
  async close(): Promise<void> {
    await this.queue;
    await this.opening?.catch(() => undefined);
    await this.encoder?.close();
    this.encoder = null;
    this.opening = null;
    await this.store.close?.();
  }
}
