/**
 * Sizes of a set of Parquet files from their footers (DuckDB `parquet_metadata` and
 * `parquet_file_metadata`): file bytes, rows, compressed bytes per column (page headers included,
 * as Parquet counts them) and the footers. What is left after columns and footers is the 12 bytes of
 * magic and footer length per file.
 */
import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';

export interface FileSetSize {
  files: number;
  rowGroups: number;
  bytes: number;
  rows: number;
  bytesPerReading: number;
  /** Compressed bytes per column, summed over every column chunk. */
  columns: Record<string, number>;
  footerBytes: number;
  /** Encodings DuckDB reports per column (distinct, over all chunks). */
  encodings: Record<string, string>;
}

export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
export const sqlList = (paths: string[]) => `[${paths.map(sqlString).join(', ')}]`;

/** Rounds to 3 decimals: the figures are bytes per reading. */
export const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function measureFiles(conn: DuckDBConnection, paths: string[]): Promise<FileSetSize> {
  if (paths.length === 0) throw new Error('no Parquet files to measure: the lake stage produced none');
  const bytes = paths.reduce((n, p) => n + statSync(p).size, 0);
  const list = sqlList(paths);
  const fileMeta = (await conn.runAndReadAll(`SELECT sum(num_rows) AS rows, sum(num_row_groups) AS rg, sum(footer_size) AS footer FROM parquet_file_metadata(${list})`)).getRowObjectsJS()[0];
  const cols = (
    await conn.runAndReadAll(
      `SELECT path_in_schema AS col, sum(total_compressed_size) AS bytes, string_agg(DISTINCT encodings, ',' ORDER BY encodings) AS enc FROM parquet_metadata(${list}) GROUP BY col ORDER BY min(column_id)`,
    )
  ).getRowObjectsJS();
  const rows = Number(fileMeta.rows);
  return {
    files: paths.length,
    rowGroups: Number(fileMeta.rg),
    bytes,
    rows,
    bytesPerReading: r3(bytes / rows),
    columns: Object.fromEntries(cols.map((c) => [String(c.col), Number(c.bytes)])),
    footerBytes: Number(fileMeta.footer),
    encodings: Object.fromEntries(cols.map((c) => [String(c.col), String(c.enc)])),
  };
}

/** The per-reading view of a measured set: every column, and the groups the comparison needs. */
export interface PerReading {
  total: number;
  /** The Gorilla-comparable pair: one timestamp and one value. */
  tsValue: number;
  ts: number;
  value: number;
  /** sensor_id + metric: the series key, which Gorilla and InfluxDB keep out of the points. */
  seriesKey: number;
  /** seq, received_at, source, topic, device_id, spool_offset: what the raw layer keeps for provenance. */
  provenance: number;
  footer: number;
  columns: Record<string, number>;
}

const PROVENANCE = ['seq', 'received_at', 'source', 'topic', 'device_id', 'spool_offset'];

export function perReading(s: FileSetSize): PerReading {
  const per = (b: number) => r3(b / s.rows);
  const col = (n: string) => s.columns[n] ?? 0;
  return {
    total: s.bytesPerReading,
    tsValue: per(col('ts') + col('value')),
    ts: per(col('ts')),
    value: per(col('value')),
    seriesKey: per(col('sensor_id') + col('metric')),
    provenance: per(PROVENANCE.reduce((n, c) => n + col(c), 0)),
    footer: per(s.footerBytes),
    columns: Object.fromEntries(Object.entries(s.columns).map(([k, v]) => [k, per(v)])),
  };
}
