import type { Lake, Warehouse } from '../core/sinks.js';
import { crashPoint } from '../core/faults.js';
import { noopObserver, type PipelineObserver } from '../core/observer.js';
import type { Clock, Logger, SinkBatch, Spool, SpoolRecord } from '../core/types.js';

export interface WriterOptions {
  batchMaxRecords: number;
  /** Readings per batch, at least one record (default 50,000). */
  batchMaxReadings?: number;
  flushIntervalMs: number;
}

const DEFAULT_BATCH_MAX_READINGS = 50_000;

export interface WriterStats {
  batches: number;
  records: number;
  inserted: number;
  duplicates: number;
  conflicts: number;
  lastBatchAt: number | null;
  lastError: string | null;
  consecutiveFailures: number;
}

/**
 * Moves spool records into the sinks. One batch at a time: mark the range in flight, write the
 * warehouse (which decides duplicates and conflicts) and the lake (which encodes its raw files
 * meanwhile on its own thread, and publishes once the warehouse's verdict is in), then advance the
 * spool checkpoint. A crash anywhere replays the same range; sinks are idempotent for it.
 */
export class Writer {
  readonly stats: WriterStats = {
    batches: 0,
    records: 0,
    inserted: 0,
    duplicates: 0,
    conflicts: 0,
    lastBatchAt: null,
    lastError: null,
    consecutiveFailures: 0,
  };
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly log: Logger;

  constructor(
    private readonly deps: { spool: Spool; warehouse: Warehouse; lake: Lake; clock: Clock; logger: Logger; observer?: PipelineObserver },
    private readonly opts: WriterOptions,
  ) {
    this.log = deps.logger.child({ component: 'writer' });
    this.observer = deps.observer ?? noopObserver;
  }

  private readonly observer: PipelineObserver;

  /** Runs one sink call and reports its duration and whether it threw. */
  private async timed<T>(sink: 'warehouse' | 'lake', call: () => Promise<T>, t0 = performance.now()): Promise<T> {
    try {
      const result = await call();
      this.observer.sinkWrite(sink, (performance.now() - t0) / 1000, true);
      return result;
    } catch (err) {
      this.observer.sinkWrite(sink, (performance.now() - t0) / 1000, false);
      throw err;
    }
  }

  /**
   * Writes at most one batch and returns the number of records written (0 when the spool is empty).
   * Throws when a sink fails; nothing is committed then and the same range is retried next time.
   */
  async writeOnce(): Promise<number> {
    const { spool, warehouse, lake } = this.deps;
    const records = await this.nextBatch();
    if (records.length === 0) return 0;
    const batch: SinkBatch = { fromOffset: records[0].offset, toOffset: records[records.length - 1].offset, records };
    await spool.setInflight({ from: batch.fromOffset, to: batch.toOffset });
    crashPoint('writer.before-warehouse');
    // The lake encodes its raw files while the warehouse decides; it publishes only after the verdict.
    const warehouseDone = this.timed('warehouse', () => warehouse.writeBatch(batch));
    const lakeStarted = performance.now();
    const lakeDone = lake.writeBatch(batch, warehouseDone.then((o) => o.conflicts));
    // When the warehouse fails the lake fails with it: that is the warehouse's error, not counted for the lake.
    lakeDone.catch(() => undefined);
    const outcome = await warehouseDone;
    this.observer.warehouseCommitted(batch, outcome, this.deps.clock.now());
    crashPoint('writer.after-warehouse');
    await this.timed('lake', () => lakeDone, lakeStarted);
    crashPoint('writer.after-lake');
    await spool.commit(batch.toOffset);
    crashPoint('writer.after-commit');
    await spool.setInflight(null);
    const s = this.stats;
    s.batches++;
    s.records += records.length;
    s.inserted += outcome.inserted;
    s.duplicates += outcome.duplicates;
    s.conflicts += outcome.conflicts.length;
    s.lastBatchAt = this.deps.clock.now();
    return records.length;
  }

  /** Writes until the spool is empty. For tests and shutdown. */
  async drain(): Promise<void> {
    while ((await this.writeOnce()) > 0) {
      /* keep going */
    }
  }

  private async nextBatch(): Promise<SpoolRecord[]> {
    const { spool } = this.deps;
    const inflight = await spool.inflight();
    if (inflight) {
      // Replay exactly the range that was in flight at the crash so deterministic lake names line up.
      const recs = await spool.read(inflight.from - 1, Math.max(this.opts.batchMaxRecords, inflight.to - inflight.from + 1));
      const exact = recs.filter((r) => r.offset <= inflight.to);
      if (exact.length) {
        this.log.info({ from: inflight.from, to: inflight.to }, 'replaying the spool range that was being written when the process stopped');
        return exact;
      }
    }
    const records = await spool.read(await spool.checkpoint(), this.recordsToRead());
    return this.cutAtReadings(records);
  }

  /** Readings per record seen in the last batch: an MQTT message holds a few, an HTTP bulk request thousands. */
  private readingsPerRecord = 1;

  /** As many records as should hold batchMaxReadings readings, judged by the last batch. */
  private recordsToRead(): number {
    const maxReadings = this.opts.batchMaxReadings ?? DEFAULT_BATCH_MAX_READINGS;
    return Math.max(1, Math.min(this.opts.batchMaxRecords, Math.ceil(maxReadings / this.readingsPerRecord)));
  }

  /**
   * Keeps records while the batch has at most batchMaxReadings readings (always the first one), so a
   * run of bulk requests cannot make one batch of millions of readings; the rest is read next time.
   */
  private cutAtReadings(records: SpoolRecord[]): SpoolRecord[] {
    const maxReadings = this.opts.batchMaxReadings ?? DEFAULT_BATCH_MAX_READINGS;
    let readings = 0;
    let keep = 0;
    for (const r of records) {
      const n = r.kind === 'message' ? r.readings.length + r.quarantined.length : 0;
      if (keep > 0 && readings + n > maxReadings) break;
      readings += n;
      keep++;
    }
    if (keep > 0) this.readingsPerRecord = Math.max(1, readings / keep);
    return keep === records.length ? records : records.slice(0, keep);
  }

  /**
   * Runs in the background: a full batch at once, else a batch every flushIntervalMs counted from
   * the start of the previous one (a slow write is not followed by a full pause: at high rates
   * that pause was most of a reading's way to the warehouse); backs off on sink errors.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Asks the loop to look at the spool now (called after appends when a full batch may be waiting). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let wrote = 0;
      const started = this.deps.clock.now();
      try {
        wrote = await this.writeOnce();
        if (this.stats.consecutiveFailures > 0) {
          this.log.info({ after: this.stats.consecutiveFailures }, 'sinks recovered; writing again');
        }
        this.stats.consecutiveFailures = 0;
        this.stats.lastError = null;
      } catch (err) {
        const s = this.stats;
        s.consecutiveFailures++;
        s.lastError = (err as Error).message;
        const backoff = Math.min(30_000, 500 * 2 ** Math.min(6, s.consecutiveFailures - 1));
        this.log.error(
          { err, attempt: s.consecutiveFailures, retryInMs: backoff },
          'writing a batch to the sinks failed; nothing was lost (it stays in the spool and will be retried). Check the warehouse/lake named in the error.',
        );
        await this.pause(backoff);
        continue;
      }
      // A batch cut at batchMaxReadings is as full as a batch gets: go on at once.
      if (wrote < this.recordsToRead()) {
        const elapsed = this.deps.clock.now() - started;
        // Nothing written: a full interval (an idle spool is not polled faster).
        await this.pause(wrote === 0 ? this.opts.flushIntervalMs : Math.max(0, this.opts.flushIntervalMs - elapsed));
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Stops the loop after the batch in progress; with `drain`, writes what remains first. */
  async stop(opts: { drain: boolean } = { drain: true }): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    if (opts.drain) await this.drain();
  }
}
