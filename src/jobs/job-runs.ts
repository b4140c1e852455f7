/**
 * `job_runs`: the record of every job run (DESIGN §5). Writes go through `jobTransaction`, one
 * small transaction each (a run's own work commits separately, so a run that crashed mid-way stays
 * `running` until `markInterrupted`). Reads go through `query()`, so they also work on a warehouse
 * opened read-only by the CLI; the only values inlined into that SQL are job names (checked against
 * the id alphabet) and integers.
 */
import { randomUUID } from 'node:crypto';
import type { TimeWindow } from '../core/jobs.js';
import { isValidId } from '../core/ids.js';
import type { Warehouse } from '../core/sinks.js';
import type { EpochMs } from '../core/types.js';
import { msOf, numOf, sqlString, sqlTs } from './sql.js';

export type RunStatus = 'running' | 'ok' | 'failed' | 'skipped';
/** schedule: a scheduled window; manual: `jobs run` / the API; pending: dirty windows between scheduled windows. */
export type Trigger = 'schedule' | 'manual' | 'pending';

export interface JobRun {
  runId: string;
  job: string;
  triggeredBy: Trigger;
  windowStart: string;
  windowEnd: string;
  status: RunStatus;
  rows: number | null;
  durationMs: number | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  detail: Record<string, unknown> | null;
}

const COLUMNS = 'run_id, job, triggered_by, window_start, window_end, status, rows, duration_ms, error, started_at, finished_at, detail';

function toRun(r: Record<string, unknown>): JobRun {
  let detail: Record<string, unknown> | null = null;
  if (typeof r.detail === 'string' && r.detail) {
    try {
      detail = JSON.parse(r.detail) as Record<string, unknown>;
    } catch {
      detail = { text: r.detail };
    }
  }
  const isoOf = (v: unknown) => {
    const ms = msOf(v);
    return ms === null ? null : new Date(ms).toISOString();
  };
  return {
    runId: String(r.run_id),
    job: String(r.job),
    triggeredBy: String(r.triggered_by) as Trigger,
    windowStart: isoOf(r.window_start) as string,
    windowEnd: isoOf(r.window_end) as string,
    status: String(r.status) as RunStatus,
    rows: numOf(r.rows),
    durationMs: numOf(r.duration_ms),
    error: (r.error as string | null) ?? null,
    startedAt: isoOf(r.started_at) as string,
    finishedAt: isoOf(r.finished_at),
    detail,
  };
}

function checkedName(job: string): string {
  if (!isValidId(job)) throw new TypeError(`invalid job name: ${JSON.stringify(job)}`);
  return sqlString(job);
}

/** A warehouse that predates the jobs (opened read-only, so its schema was not upgraded) has no job_runs yet. */
function missingTable(err: unknown): boolean {
  return /job_runs.*does not exist|does not exist.*job_runs/is.test(err instanceof Error ? err.message : String(err));
}

export class JobRunStore {
  constructor(private readonly warehouse: Warehouse) {}

  async begin(job: string, window: TimeWindow, triggeredBy: Trigger, startedAt: EpochMs): Promise<string> {
    const runId = randomUUID();
    await this.warehouse.jobTransaction((tx) =>
      tx.run(
        `INSERT INTO job_runs (${COLUMNS}) VALUES ($1, $2, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), 'running',
           NULL, NULL, NULL, CAST($6 AS TIMESTAMP), NULL, NULL)`,
        [runId, job, triggeredBy, sqlTs(window.start), sqlTs(window.end), sqlTs(startedAt)],
      ),
    );
    return runId;
  }

  async finish(
    runId: string,
    r: { status: Exclude<RunStatus, 'running'>; rows: number | null; durationMs: number; error: string | null; finishedAt: EpochMs; detail: Record<string, unknown> | null },
  ): Promise<void> {
    await this.warehouse.jobTransaction((tx) =>
      tx.run(
        `UPDATE job_runs SET status = $2, rows = CAST($3 AS BIGINT), duration_ms = CAST($4 AS BIGINT), error = $5,
           finished_at = CAST($6 AS TIMESTAMP), detail = $7 WHERE run_id = $1`,
        [runId, r.status, r.rows, Math.round(r.durationMs), r.error, sqlTs(r.finishedAt), r.detail ? JSON.stringify(r.detail) : null],
      ),
    );
  }

  /** One finished run in one row (ranges skipped beyond the catch-up limit, pending passes). */
  async record(
    job: string,
    window: TimeWindow,
    triggeredBy: Trigger,
    r: {
      status: Exclude<RunStatus, 'running'>;
      rows: number | null;
      durationMs: number;
      error: string | null;
      startedAt: EpochMs;
      finishedAt: EpochMs;
      detail: Record<string, unknown> | null;
    },
  ): Promise<string> {
    const runId = randomUUID();
    await this.warehouse.jobTransaction((tx) =>
      tx.run(
        `INSERT INTO job_runs (${COLUMNS}) VALUES ($1, $2, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), $6,
           CAST($7 AS BIGINT), CAST($8 AS BIGINT), $9, CAST($10 AS TIMESTAMP), CAST($11 AS TIMESTAMP), $12)`,
        [
          runId,
          job,
          triggeredBy,
          sqlTs(window.start),
          sqlTs(window.end),
          r.status,
          r.rows,
          Math.round(r.durationMs),
          r.error,
          sqlTs(r.startedAt),
          sqlTs(r.finishedAt),
          r.detail ? JSON.stringify(r.detail) : null,
        ],
      ),
    );
    return runId;
  }

  /** After a restart: runs left `running` by a process that stopped are failed (one process owns the DuckDB file). */
  async markInterrupted(at: EpochMs): Promise<number> {
    return this.warehouse.jobTransaction((tx) =>
      tx.run(
        `UPDATE job_runs SET status = 'failed', error = 'interrupted: the process stopped during the run', finished_at = CAST($1 AS TIMESTAMP)
         WHERE status = 'running'`,
        [sqlTs(at)],
      ),
    );
  }

  /**
   * Where the scheduler resumes: the end of the latest scheduled window that finished ok or was
   * skipped. Manual and pending runs do not move it (a backfill ahead of the scheduler must not
   * make it jump over windows it has not run).
   */
  async scheduledFrontier(job: string): Promise<EpochMs | null> {
    const r = await this.select(
      `SELECT max(window_end) AS f FROM job_runs WHERE job = ${checkedName(job)} AND triggered_by = 'schedule' AND status IN ('ok', 'skipped')`,
    );
    return msOf(r[0]?.f);
  }

  /** The latest run of each job (any trigger). */
  async latest(): Promise<Map<string, JobRun>> {
    const rows = await this.select(
      `SELECT ${COLUMNS} FROM (
         SELECT *, row_number() OVER (PARTITION BY job ORDER BY started_at DESC, window_start DESC, run_id) AS rn FROM job_runs
       ) x WHERE rn = 1`,
    );
    return new Map(rows.map((r) => [String(r.job), toRun(r)]));
  }

  /** Newest first. */
  async history(opts: { job?: string; limit?: number } = {}): Promise<JobRun[]> {
    const limit = Math.max(1, Math.min(10_000, Math.floor(opts.limit ?? 50)));
    const where = opts.job ? `WHERE job = ${checkedName(opts.job)}` : '';
    const rows = await this.select(`SELECT ${COLUMNS} FROM job_runs ${where} ORDER BY started_at DESC, window_start DESC, run_id LIMIT ${limit}`);
    return rows.map(toRun);
  }

  private async select(sql: string): Promise<Record<string, unknown>[]> {
    try {
      return (await this.warehouse.query(sql, { maxRows: 10_000, timeoutMs: 30_000 })).rows;
    } catch (err) {
      if (missingTable(err)) return [];
      throw err;
    }
  }
}
