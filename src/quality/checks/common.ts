import type { Job, JobContext, JobResult, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import { replaceResults, type CheckName, type QualityRow } from '../store.js';

/** Counts by check and severity, for JobResult.detail (`jobs history`, the API). */
export function summarize(rows: readonly QualityRow[]): Record<string, unknown> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    out[r.check] ??= {};
    out[r.check][r.severity] = (out[r.check][r.severity] ?? 0) + 1;
  }
  return { findings: rows.length, bySeverity: out };
}

/**
 * A quality job: computes its rows for the window inside one warehouse transaction and replaces
 * the rows of its checks for exactly that window (nothing is written in a dry run).
 */
export function qualityJob(
  name: string,
  windowMs: number,
  checks: readonly CheckName[],
  compute: (tx: SqlTx, window: TimeWindow, ctx: JobContext) => Promise<QualityRow[]>,
): Job {
  return {
    name,
    windowMs,
    run: (window: TimeWindow, ctx: JobContext): Promise<JobResult> => {
      if (!(window.end > window.start)) return Promise.reject(new RangeError(`${name}: empty window ${window.start}..${window.end}`));
      return ctx.warehouse.jobTransaction(async (tx) => {
        const rows = await compute(tx, window, ctx);
        const written = ctx.dryRun ? rows.length : await replaceResults(tx, checks, window, rows, ctx.clock.now());
        return { rows: written, detail: summarize(rows) };
      });
    },
  };
}
