/** The aggregate jobs' common shape: one level, its window, dry runs by rollback. */
import type { JobContext, JobResult, TimeWindow } from '../core/jobs.js';
import type { SqlTx } from '../core/sinks.js';
import { LEVELS, aggregatePending, aggregateWindow, earliestSource, readState, type Level } from './aggregate.js';
import { DryRunRollback } from './sql.js';
import type { ScheduledJob } from './types.js';

/** The aggregate jobs share one lock key: see lock.ts. */
export const AGGREGATES_LOCK = 'aggregates';

/**
 * Runs `fn` in one job transaction. A dry run computes everything, then rolls back and returns
 * what it would have written.
 */
export async function inTransaction<T>(ctx: JobContext, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
  if (!ctx.dryRun) return ctx.warehouse.jobTransaction(fn);
  try {
    await ctx.warehouse.jobTransaction(async (tx) => {
      throw new DryRunRollback(await fn(tx));
    });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.result as T;
    throw err;
  }
  throw new Error('unreachable: a dry run always rolls back');
}

export class AggregateJob implements ScheduledJob {
  readonly windowMs: number;
  readonly catchUp = 'all' as const;
  readonly lockKey = AGGREGATES_LOCK;

  constructor(
    readonly name: string,
    readonly level: Level,
    readonly description: string,
  ) {
    this.windowMs = LEVELS[level].windowMs;
  }

  async run(window: TimeWindow, ctx: JobContext): Promise<JobResult> {
    if (window.start % this.windowMs !== 0 || window.end - window.start !== this.windowMs) {
      throw new RangeError(`${this.name} runs over aligned ${this.windowMs} ms windows, got [${window.start}, ${window.end})`);
    }
    const now = ctx.clock.now();
    const out = await inTransaction(ctx, (tx) => aggregateWindow(tx, this.level, window, now));
    return ctx.dryRun ? { ...out, detail: { ...out.detail, dryRun: true } } : out;
  }

  async runPending(ctx: JobContext): Promise<(JobResult & { window: TimeWindow }) | null> {
    const now = ctx.clock.now();
    return inTransaction(ctx, (tx) => aggregatePending(tx, this.level, now));
  }

  async earliestData(ctx: JobContext) {
    return ctx.warehouse.jobTransaction((tx) => earliestSource(tx, this.level));
  }

  /** Rollups wait for the finer level: input is complete where the finer level has been computed. */
  async readyUntil(ctx: JobContext) {
    const source = LEVELS[this.level].source.level;
    if (source === 'raw') return Number.POSITIVE_INFINITY;
    return ctx.warehouse.jobTransaction(async (tx) => (await readState(tx, source)).coveredUntil);
  }
}
