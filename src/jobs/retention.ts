/**
 * `retention`: deletes warehouse rows older than the configured number of days, per table (raw
 * readings for N days, aggregates longer). The lake's lifecycle (archiving old partitions) is a
 * separate job.
 *
 * A run over the day window [start, end) deletes, for each table with a `keepDays`, the rows whose
 * time is before `end - keepDays`. Idempotent; after downtime only the newest window runs (its
 * cutoff covers all older ones). Two safeguards:
 * - a table is never cut beyond what the next aggregate level has already computed from it (when
 *   that level's job is enabled), so no reading disappears before it is in the aggregates;
 * - the cutoff is recorded as the level's `retained_from`, and the aggregate jobs never recompute
 *   a window older than their source's `retained_from` (that would replace complete aggregates
 *   with partial ones).
 * With `dryRun` it reports, per table, how many rows it would delete and their time range, and
 * deletes nothing.
 */
import type { JobContext, JobResult, TimeWindow } from '../core/jobs.js';
import { readState, writeState, type Level, type StateLevel } from './aggregate.js';
import { inTransaction } from './aggregate-job.js';
import { msOf, numOf, sqlTs } from './sql.js';
import type { ScheduledJob } from './types.js';
import { DAY, iso } from './windows.js';

export type RetainedTable = 'readings' | 'readings_1m' | 'readings_1h' | 'readings_1d';

/** Days to keep per table; null keeps forever. */
export type KeepDays = Record<RetainedTable, number | null>;

const TABLES: { table: RetainedTable; time: 'ts' | 'bucket'; level: StateLevel; aggregatedInto: Level | null }[] = [
  { table: 'readings', time: 'ts', level: 'raw', aggregatedInto: '1m' },
  { table: 'readings_1m', time: 'bucket', level: '1m', aggregatedInto: '1h' },
  { table: 'readings_1h', time: 'bucket', level: '1h', aggregatedInto: '1d' },
  { table: 'readings_1d', time: 'bucket', level: '1d', aggregatedInto: null },
];

export interface RetentionTableReport {
  table: RetainedTable;
  keepDays: number | null;
  /** Rows before this time are (or would be) deleted; null when the table is kept forever. */
  cutoff: string | null;
  rows: number;
  /** Time range of the deleted rows. */
  from: string | null;
  to: string | null;
  /** Why the cutoff is earlier than keepDays asks, if it is (rows not yet aggregated into the next level are kept). */
  heldBack?: string;
}

export interface RetentionOptions {
  keepDays: KeepDays;
  /** Aggregate levels whose job is enabled: their source is never cut beyond what they have computed. */
  protectLevels: Level[];
}

export class RetentionJob implements ScheduledJob {
  readonly name = 'retention';
  readonly windowMs = DAY;
  readonly catchUp = 'latest' as const;
  readonly description = 'deletes warehouse rows older than keepDays per table (raw readings, then aggregates)';

  constructor(private readonly opts: RetentionOptions) {}

  async run(window: TimeWindow, ctx: JobContext): Promise<JobResult> {
    const now = ctx.clock.now();
    const tables = await inTransaction(ctx, async (tx) => {
      const reports: RetentionTableReport[] = [];
      for (const t of TABLES) {
        const keep = this.opts.keepDays[t.table];
        if (keep === null || keep === undefined) {
          reports.push({ table: t.table, keepDays: null, cutoff: null, rows: 0, from: null, to: null });
          continue;
        }
        let cutoff = window.end - keep * DAY;
        let heldBack: string | undefined;
        if (t.aggregatedInto && this.opts.protectLevels.includes(t.aggregatedInto)) {
          const covered = (await readState(tx, t.aggregatedInto)).coveredUntil ?? Number.NEGATIVE_INFINITY;
          if (covered < cutoff) {
            heldBack = covered === Number.NEGATIVE_INFINITY ? `no ${t.aggregatedInto} aggregates yet` : `not yet aggregated into ${t.aggregatedInto}`;
            cutoff = covered;
          }
        }
        if (cutoff === Number.NEGATIVE_INFINITY) {
          reports.push({ table: t.table, keepDays: keep, cutoff: null, rows: 0, from: null, to: null, heldBack });
          continue;
        }
        const [r] = await tx.all<{ n: unknown; lo: unknown; hi: unknown }>(
          `SELECT count(*) AS n, min(${t.time}) AS lo, max(${t.time}) AS hi FROM ${t.table} WHERE ${t.time} < CAST($1 AS TIMESTAMP)`,
          [sqlTs(cutoff)],
        );
        const rows = numOf(r?.n) ?? 0;
        if (rows > 0) await tx.run(`DELETE FROM ${t.table} WHERE ${t.time} < CAST($1 AS TIMESTAMP)`, [sqlTs(cutoff)]);
        const state = await readState(tx, t.level);
        if (state.retainedFrom === null || state.retainedFrom < cutoff) await writeState(tx, t.level, { ...state, retainedFrom: cutoff }, now);
        reports.push({
          table: t.table,
          keepDays: keep,
          cutoff: iso(cutoff),
          rows,
          from: iso(msOf(r?.lo)),
          to: iso(msOf(r?.hi)),
          ...(heldBack ? { heldBack } : {}),
        });
      }
      return reports;
    });
    return {
      rows: tables.reduce((n, t) => n + t.rows, 0),
      detail: { ...(ctx.dryRun ? { dryRun: true } : {}), tables },
    };
  }
}
