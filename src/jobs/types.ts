/** What the scheduler needs to know about a job, beyond the core `Job` contract (core/jobs.ts). */
import type { Job, JobContext, JobResult, TimeWindow } from '../core/jobs.js';
import type { EpochMs } from '../core/types.js';

export interface ScheduledJob extends Job {
  /** One line for `jobs list` and the docs. */
  readonly description?: string;
  /**
   * After downtime: `all` runs every missed window (up to the job's maxCatchupWindows);
   * `latest` runs only the newest closed window (retention: its newest cutoff covers all older ones).
   * Default `all`. (A plain core `Job` is a valid ScheduledJob: every addition here is optional.)
   */
  readonly catchUp?: 'all' | 'latest';
  /** Jobs that share a key never run at the same time (default: the job's name). */
  readonly lockKey?: string;
  /**
   * Where a scheduler with no run history starts: the earliest data time, or null when there is no
   * data yet (nothing to do). Without this hook a fresh scheduler starts at the latest closed window.
   */
  earliestData?(ctx: JobContext): Promise<EpochMs | null>;
  /**
   * Input is complete up to this time (e.g. the finer aggregate level's coverage); windows ending
   * later wait. Null: nothing is ready. Without this hook only the watermark counts.
   */
  readyUntil?(ctx: JobContext): Promise<EpochMs | null>;
  /**
   * Work between windows (recomputing dirty windows after late data). Called when a scheduled
   * firing finds no new window to run; the window it returns is the range it touched.
   * Null: nothing was pending (no run is recorded).
   */
  runPending?(ctx: JobContext): Promise<(JobResult & { window: TimeWindow }) | null>;
}

/** A job's settings from the `jobs` section of the config. */
export interface JobSettings {
  enabled: boolean;
  /** Cron, UTC. */
  schedule: string;
  /** Watermark grace: a window is closed once now - grace >= its end. */
  graceMs: number;
  /** After downtime, run at most this many missed windows; older ones are recorded as skipped. */
  maxCatchupWindows: number;
}

export interface JobEntry {
  job: ScheduledJob;
  settings: JobSettings;
}

/** A job result whose detail carries `skipped: "<reason>"` is recorded with status `skipped`. */
export function skippedReason(result: JobResult): string | null {
  const s = result.detail?.skipped;
  return typeof s === 'string' ? s : null;
}
