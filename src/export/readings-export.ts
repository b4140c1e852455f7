/**
 * `sensorpipe export readings`: the narrow readings table (sensor_id, metric, ts, value) of a time
 * range and a set of sensors and metrics, as Parquet or CSV (docs/export.md).
 */
import { readingPages, type ReadingsFilter, type SqlRunner } from './readings-pages.js';
import { openTableFile, type ExportColumn, type ExportFormat } from './table-file.js';

export const READINGS_COLUMNS: ExportColumn[] = [
  { name: 'sensor_id', type: 'VARCHAR' },
  { name: 'metric', type: 'VARCHAR' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'value', type: 'DOUBLE' },
];

export interface ExportResult {
  file: string;
  format: ExportFormat;
  rows: number;
  bytes: number;
}

/** Streams the readings into `out`; on an error the partial file is removed and the error rethrown. */
export async function exportReadings(
  run: SqlRunner,
  filter: ReadingsFilter,
  opts: { format: ExportFormat; out: string; pageSize?: number; onPage?: (rows: number) => void },
): Promise<ExportResult> {
  const file = await openTableFile(opts.out, opts.format, READINGS_COLUMNS);
  let n = 0;
  try {
    for await (const page of readingPages(run, filter, opts.pageSize)) {
      await file.append(page);
      n += page.length;
      opts.onPage?.(n);
    }
  } catch (err) {
    await file.abort();
    throw err;
  }
  const r = await file.close();
  return { file: opts.out, format: opts.format, rows: r.rows, bytes: r.bytes };
}

/** ISO-8601 (a date alone is midnight UTC, a time without a zone is UTC) or epoch ms; throws naming the flag. */
export function parseTimeFlag(name: string, v: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : /T\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v) ? `${v}Z` : v;
  const ms = /^-?\d+$/.test(v) ? Number(v) : Date.parse(iso);
  if (!Number.isFinite(ms)) throw new Error(`${name} "${v}" is not an ISO-8601 time (2004-03-10 or 2004-03-10T18:00:00Z) or epoch milliseconds`);
  return ms;
}
