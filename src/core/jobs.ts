import type { Lake, Warehouse } from './sinks.js';
import type { Clock, EpochMs, Logger } from './types.js';

/** A closed time window [start, end), UTC. */
export interface TimeWindow {
  start: EpochMs;
  end: EpochMs;
}

export interface JobContext {
  warehouse: Warehouse;
  /** The lake root, for jobs that read or rewrite lake files (compaction, lifecycle); null when the lake is not local. */
  lake: Lake | null;
  clock: Clock;
  logger: Logger;
  /** With dryRun, a job reports what it would change and changes nothing. */
  dryRun: boolean;
}

export interface JobResult {
  /** Rows written (or that would be, in a dry run). */
  rows: number;
  /** Anything worth showing in `jobs history` and the API: files merged, windows recomputed, … */
  detail?: Record<string, unknown>;
}

/**
 * A batch job over closed time windows (DESIGN §5). `run` is idempotent: running the same window
 * twice leaves the same result. It throws only on infrastructure faults; the scheduler then records
 * the run as failed in `job_runs` and retries the window on its next tick. Bad data is never a
 * reason to throw: it becomes quality results or quarantine rows.
 */
export interface Job {
  readonly name: string;
  /** Length of one window, ms (60_000 for 1-minute resampling, 3_600_000 for hourly, …). */
  readonly windowMs: number;
  run(window: TimeWindow, ctx: JobContext): Promise<JobResult>;
}
