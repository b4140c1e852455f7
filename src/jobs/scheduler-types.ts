/**
 * What the scheduler (scheduler.ts) tells its callers, the CLI and /v1/jobs: job listings, run
 * records, range plans and summaries, and the errors a manual run can answer with.
 */
import type { TimeWindow } from '../core/jobs.js';
import type { PipelineObserver } from '../core/observer.js';
import type { Lake, Warehouse } from '../core/sinks.js';
import type { Clock, EpochMs, Logger } from '../core/types.js';
import type { JobRun, RunStatus, Trigger } from './job-runs.js';
import type { JobLock } from './lock.js';
import type { Timer } from './timer.js';

/** A job name nobody configured. */
export class UnknownJobError extends Error {
  readonly code = 'unknown_job';
}

/** A manual run over a range with nothing to run in it. */
export class JobRangeError extends Error {
  readonly code = 'bad_range';
}

export interface JobInfo {
  name: string;
  description: string;
  enabled: boolean;
  schedule: string;
  window: string;
  windowMs: number;
  graceS: number;
  maxCatchupWindows: number;
  catchUp: 'all' | 'latest';
  /** Running now in this process. */
  running: boolean;
  lastRun: JobRun | null;
  /** Next scheduled firing (ISO), null when disabled. */
  nextRun: string | null;
}

export interface RunRecord {
  runId: string | null;
  job: string;
  triggeredBy: Trigger;
  windowStart: string;
  windowEnd: string;
  status: Exclude<RunStatus, 'running'>;
  rows: number;
  durationMs: number;
  error: string | null;
  detail: Record<string, unknown> | null;
}

export interface RangePlan {
  job: string;
  from: EpochMs;
  to: EpochMs;
  windows: TimeWindow[];
  /** Set when the requested range was cut at the watermark. */
  note?: string;
}

export type ProgressEvent =
  | { type: 'waiting'; job: string; message: string }
  | { type: 'window'; job: string; index: number; total: number; run: RunRecord };

export interface RangeSummary {
  job: string;
  from: string;
  to: string;
  dryRun: boolean;
  windows: number;
  ran: number;
  ok: number;
  failed: number;
  skipped: number;
  rows: number;
  durationMs: number;
  note?: string;
  /** The window that failed (the run stopped there), with its error. */
  failure?: { windowStart: string; windowEnd: string; error: string };
  /** Every window's record when there are at most 100 windows (retention's per-table report is in `detail`). */
  runs?: RunRecord[];
}

export interface SchedulerDeps {
  warehouse: Warehouse;
  lake?: Lake | null;
  clock?: Clock;
  logger?: Logger;
  timer?: Timer;
  lock?: JobLock;
  /** Told about every recorded run (metrics: durations, failures). */
  observer?: PipelineObserver;
}
