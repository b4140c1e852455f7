/**
 * SQL helpers shared by the jobs. Every statement the jobs run is written for both DuckDB and
 * PostgreSQL: ANSI joins and subqueries, `date_trunc`, `INTERVAL '1 hour'`,
 * `INSERT … ON CONFLICT DO NOTHING`, `now() AT TIME ZONE 'UTC'`, and `$n` parameters with explicit
 * `CAST($n AS TIMESTAMP)`. No engine-specific functions (first/last avoid DuckDB's arg_min: see
 * aggregate.ts). Timestamps are bound as zone-less UTC text ('2024-05-01 12:00:00.000'), which both
 * engines read the same way into a `TIMESTAMP` column. Should an expression ever need to differ
 * between engines, it belongs in `Warehouse.dialect` (core/sql-dialect.ts). The jobs tests run on
 * both engines (test/jobs/aggregates.test.ts, views-retention.test.ts).
 */
import type { EpochMs } from '../core/types.js';

/** EpochMs -> zone-less UTC text for `CAST($n AS TIMESTAMP)`. */
export function sqlTs(ms: EpochMs): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** A timestamp read back from the warehouse (ISO text ending in Z, or null) -> EpochMs. */
export function msOf(v: unknown): EpochMs | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  const s = String(v);
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new TypeError(`not a timestamp: ${s}`);
  return ms;
}

/** A number read back from the warehouse (BIGINTs may come as decimal strings). */
export function numOf(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

/** A SQL string literal, for the few read-only queries that cannot take parameters. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Thrown inside `jobTransaction` to roll a dry run back after it has computed exactly what it
 * would have written; the job catches it and returns the result it carries.
 */
export class DryRunRollback<T> extends Error {
  constructor(readonly result: T) {
    super('dry run: rolled back');
  }
}
