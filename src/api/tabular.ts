/**
 * Output helpers of the query routes: time parameters, CSV, and Parquet.
 *
 * Parquet: the warehouse runs with external access disabled, so `COPY … TO` cannot write a file
 * there. Like src/sinks/lake/parquet-encoder.ts (whose fixed lake columns do not fit query output),
 * the rows are appended to a private in-memory DuckDB instance, which COPYs them to a temporary
 * file (zstd) that is read back and removed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBTimestampValue } from '@duckdb/node-api';

export class ParamError extends Error {}

/** ISO-8601 or epoch milliseconds; undefined when absent. */
export function parseTime(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new ParamError(`${name}=${JSON.stringify(v)} is not an ISO-8601 time or epoch milliseconds`);
  return ms;
}

/** A SQL TIMESTAMP literal for epoch ms (UTC). */
export function tsSql(ms: number): string {
  // A TIMESTAMP literal (UTC, microseconds): the same on DuckDB and PostgreSQL, and a constant the
  // planner can prune with.
  const micros = Math.round(ms * 1000);
  const whole = Math.floor(micros / 1000);
  const rest = String(micros - whole * 1000).padStart(3, '0');
  return `TIMESTAMP '${new Date(whole).toISOString().replace('T', ' ').slice(0, 23)}${rest}'`;
}

export type ColumnType = 'VARCHAR' | 'TIMESTAMP' | 'DOUBLE' | 'BIGINT';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 CSV with a header line. */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Rows (JSON-friendly: ISO time strings, numbers) as a zstd Parquet file, via an in-memory DuckDB. */
export async function toParquet(columns: { name: string; type: ColumnType }[], rows: Record<string, unknown>[]): Promise<Buffer> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-parquet-'));
  try {
    const q = (n: string) => `"${n.replaceAll('"', '""')}"`;
    await conn.run(`CREATE TABLE t (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
    const a = await conn.createAppender('t');
    try {
      for (const r of rows) {
        for (const c of columns) {
          const v = r[c.name];
          if (v === null || v === undefined) a.appendNull();
          else if (c.type === 'VARCHAR') a.appendVarchar(String(v));
          else if (c.type === 'DOUBLE') a.appendDouble(Number(v));
          else if (c.type === 'BIGINT') a.appendBigInt(BigInt(Math.trunc(Number(v))));
          else a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(Date.parse(String(v)) * 1000))));
        }
        a.endRow();
      }
      a.flushSync();
    } finally {
      a.closeSync();
    }
    const file = join(dir, 'out.parquet');
    await conn.run(`COPY t TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    return readFileSync(file);
  } finally {
    conn.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}
