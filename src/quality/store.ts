/**
 * `quality_results` and the SQL the quality jobs share. Every statement here is plain SQL that
 * DuckDB and PostgreSQL both accept: `$n` parameters, timestamps passed as text and CAST, no
 * engine-specific functions. `check` is a reserved word in both engines, so the column is always
 * written quoted: "check".
 */
import type { SqlTx } from '../core/sinks.js';
import type { EpochMs } from '../core/types.js';
import type { TimeWindow } from '../core/jobs.js';
import type { Severity } from './stats.js';
import { QUALITY_RESULTS_DDL } from '../core/quality-results.js';

export { QUALITY_RESULTS_DDL };

/** The check names written to quality_results."check" (stable: dashboards and alerts filter on them). */
export const CHECKS = [
  'completeness',
  'silent',
  'spike',
  'stuck',
  'rate_of_change',
  'drift',
  'group_consistency',
  'rule',
  'quarantine_rate',
  'duplicate_rate',
] as const;
export type CheckName = (typeof CHECKS)[number];

/**
 * One finding. window_start/window_end are the job's window (so a re-run replaces exactly its own
 * rows); the time of the event inside the window (a spike's timestamp, a gap's bounds) is in
 * `detail`, always as ISO-8601 UTC.
 */
export interface QualityRow {
  check: CheckName;
  sensorId: string | null;
  metric: string | null;
  severity: Severity;
  observed: number | null;
  expected: number | null;
  detail: string;
}


/** EpochMs -> 'YYYY-MM-DD HH:MM:SS.mmm' (UTC, no zone): a TIMESTAMP literal both engines read the same way. */
export function sqlTs(ms: EpochMs): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/** A timestamp as SqlTx returns it (ISO text ending in Z; a Date from drivers that make one) -> EpochMs. */
export function msOf(v: unknown): EpochMs {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  const t = Date.parse(String(v));
  if (Number.isNaN(t)) throw new Error(`quality: expected a timestamp, got ${String(v)}`);
  return t;
}

export function iso(ms: EpochMs): string {
  return new Date(ms).toISOString();
}

/** `CAST($n AS TIMESTAMP)` */
export function tsParam(n: number): string {
  return `CAST($${n} AS TIMESTAMP)`;
}

function finiteOrNull(x: number | null): number | null {
  return x !== null && Number.isFinite(x) ? x : null;
}

const INSERT_CHUNK = 200;

/**
 * Replaces the rows of `checks` for exactly this window with `rows` (delete, then insert): running
 * the same window twice leaves the same rows. Creates the table when missing. Returns rows written.
 */
export async function replaceResults(
  tx: SqlTx,
  checks: readonly CheckName[],
  window: TimeWindow,
  rows: readonly QualityRow[],
  createdAt: EpochMs,
): Promise<number> {
  await tx.run(QUALITY_RESULTS_DDL);
  const checkParams = checks.map((_, i) => `$${i + 3}`).join(', ');
  await tx.run(
    `DELETE FROM quality_results WHERE window_start = ${tsParam(1)} AND window_end = ${tsParam(2)} AND "check" IN (${checkParams})`,
    [sqlTs(window.start), sqlTs(window.end), ...checks],
  );
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const params: (string | number | null)[] = [sqlTs(window.start), sqlTs(window.end), sqlTs(createdAt)];
    const tuples = chunk.map((r) => {
      const base = params.length;
      params.push(r.check, r.sensorId, r.metric, r.severity, finiteOrNull(r.observed), finiteOrNull(r.expected), r.detail);
      return `($${base + 1}, $${base + 2}, $${base + 3}, ${tsParam(1)}, ${tsParam(2)}, $${base + 4}, CAST($${base + 5} AS DOUBLE PRECISION), CAST($${base + 6} AS DOUBLE PRECISION), $${base + 7}, ${tsParam(3)})`;
    });
    await tx.run(
      `INSERT INTO quality_results ("check", sensor_id, metric, window_start, window_end, severity, observed, expected, detail, created_at) VALUES ${tuples.join(', ')}`,
      params,
    );
  }
  return rows.length;
}

/** A registered (sensor, metric) pair with what the checks need from the registry. */
export interface PairSpec {
  sensorId: string;
  metric: string;
  location: string | null;
  /** Declared interval (s), or null. */
  intervalS: number | null;
  min: number | null;
  max: number | null;
  createdAt: EpochMs;
}

export async function loadPairs(tx: SqlTx): Promise<PairSpec[]> {
  const rows = await tx.all<Record<string, unknown>>(
    `SELECT s.sensor_id, m.metric, s.location, s.expected_interval_s, m.min_value, m.max_value, s.created_at
     FROM sensors s JOIN sensor_metrics m ON m.sensor_id = s.sensor_id
     ORDER BY s.sensor_id, m.metric`,
  );
  return rows.map((r) => ({
    sensorId: String(r.sensor_id),
    metric: String(r.metric),
    location: r.location === null || r.location === undefined ? null : String(r.location),
    intervalS: typeof r.expected_interval_s === 'number' && r.expected_interval_s > 0 ? r.expected_interval_s : null,
    min: typeof r.min_value === 'number' ? r.min_value : null,
    max: typeof r.max_value === 'number' ? r.max_value : null,
    createdAt: msOf(r.created_at),
  }));
}

/** Readings of one (sensor, metric) in time order. */
export interface Series {
  sensorId: string;
  metric: string;
  ts: EpochMs[];
  values: number[];
}

export function pairKey(sensorId: string, metric: string): string {
  return `${sensorId}\u0000${metric}`;
}

/**
 * Readings with from <= ts < to, grouped per (sensor, metric), time-ordered. `sensors` limits the
 * sensors (an IN list of parameters); `metrics` the metric names.
 */
export async function fetchSeries(
  tx: SqlTx,
  from: EpochMs,
  to: EpochMs,
  filter: { sensors?: readonly string[]; metrics?: readonly string[] } = {},
): Promise<Map<string, Series>> {
  const params: (string | number)[] = [sqlTs(from), sqlTs(to)];
  const where = [`ts >= ${tsParam(1)}`, `ts < ${tsParam(2)}`];
  for (const [col, list] of [
    ['sensor_id', filter.sensors],
    ['metric', filter.metrics],
  ] as const) {
    if (list === undefined) continue;
    if (list.length === 0) return new Map();
    const ph = list.map((v) => {
      params.push(v);
      return `$${params.length}`;
    });
    where.push(`${col} IN (${ph.join(', ')})`);
  }
  const rows = await tx.all<{ sensor_id: string; metric: string; ts: string; value: number }>(
    `SELECT sensor_id, metric, ts, value FROM readings WHERE ${where.join(' AND ')} ORDER BY sensor_id, metric, ts`,
    params,
  );
  const out = new Map<string, Series>();
  for (const r of rows) {
    const key = pairKey(r.sensor_id, r.metric);
    let s = out.get(key);
    if (!s) {
      s = { sensorId: r.sensor_id, metric: r.metric, ts: [], values: [] };
      out.set(key, s);
    }
    s.ts.push(msOf(r.ts));
    s.values.push(Number(r.value));
  }
  return out;
}

/** Index of the first element >= t in a sorted array (binary search). */
export function lowerBound(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Short number for detail texts (4 significant digits, no exponent for everyday magnitudes). */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}
