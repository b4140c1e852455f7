/**
 * Readings of a time range, read page by page with keyset pagination over (ts, sensor_id, metric),
 * the table's unique key: memory stays bounded by one page whatever the range, and the pages work
 * through any read-only SQL runner (the DuckDB file opened read-only, or POST /v1/sql of a running
 * server, whose row cap only shortens pages).
 */
import { isValidId } from '../core/ids.js';

export interface ReadingsFilter {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Empty: every sensor. */
  sensors: string[];
  /** Empty: every metric. */
  metrics: string[];
}

export type ReadingRow = {
  sensor_id: string;
  metric: string;
  /** ISO-8601 UTC, as the warehouse answers. */
  ts: string;
  value: number;
};

/** Runs read-only SQL; `rows` may be fewer than the LIMIT asked (a server's row cap). */
export type SqlRunner = (sql: string) => Promise<{ rows: Record<string, unknown>[] }>;

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
export const tsLiteral = (iso: string | number) => `TIMESTAMP ${lit(new Date(iso).toISOString().replace('T', ' ').replace('Z', ''))}`;

/** Throws an Error naming the bad id (ids are embedded in SQL only after this check). */
export function checkIds(what: string, ids: string[]): void {
  for (const id of ids) if (!isValidId(id)) throw new Error(`${what} "${id}" is not a valid id (^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$)`);
}

export function readingsWhere(f: ReadingsFilter): string {
  checkIds('sensor', f.sensors);
  checkIds('metric', f.metrics);
  const parts = [`ts >= ${tsLiteral(f.from)}`, `ts < ${tsLiteral(f.to)}`];
  if (f.sensors.length) parts.push(`sensor_id IN (${f.sensors.map(lit).join(', ')})`);
  if (f.metrics.length) parts.push(`metric IN (${f.metrics.map(lit).join(', ')})`);
  return parts.join(' AND ');
}

/** Yields pages of readings in (ts, sensor_id, metric) order until the range is exhausted. */
export async function* readingPages(run: SqlRunner, f: ReadingsFilter, pageSize = 10_000): AsyncGenerator<ReadingRow[]> {
  const where = readingsWhere(f);
  let after: ReadingRow | null = null;
  for (;;) {
    const key: string = after
      ? ` AND (ts > ${tsLiteral(after.ts)} OR (ts = ${tsLiteral(after.ts)} AND (sensor_id > ${lit(after.sensor_id)} OR (sensor_id = ${lit(after.sensor_id)} AND metric > ${lit(after.metric)}))))`
      : '';
    const r = await run(`SELECT sensor_id, metric, ts, value FROM readings WHERE ${where}${key} ORDER BY ts, sensor_id, metric LIMIT ${pageSize}`);
    const rows = r.rows.map((x) => ({ sensor_id: String(x.sensor_id), metric: String(x.metric), ts: normalizeTs(x.ts), value: Number(x.value) }));
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1];
  }
}

/** The warehouse answers ISO strings; a driver may give a Date. Always ISO with a Z. */
function normalizeTs(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  return /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? new Date(s).toISOString() : new Date(s.replace(' ', 'T') + 'Z').toISOString();
}
