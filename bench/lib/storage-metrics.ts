/**
 * What each metric's values cost on their own: the rows of one metric written to one file (sorted
 * by sensor and time, zstd 19) in Parquet V1 and V2, with the value and ts column bytes per reading.
 * It shows which series keep a dataset above Gorilla's 1.37 B per point: a derived quantity stored
 * at full double precision costs several bytes whatever the encoding, a 0.1-resolution one far less.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { measureFiles, r3, sqlString } from './storage-measure.js';

export interface MetricValueCost {
  metric: string;
  readings: number;
  distinctValues: number;
  /** Fewest decimals (0..9) that hold every value exactly; null when more are needed. */
  decimals: number | null;
  valueV1: number;
  valueV2: number;
  /** Encoding DuckDB chose for value in V2 (BYTE_STREAM_SPLIT unless a dictionary pays). */
  valueEncodingV2: string;
  tsV1: number;
  tsV2: number;
  tsEncodingV2: string;
}

export async function metricValueCosts(conn: DuckDBConnection, dir: string): Promise<MetricValueCost[]> {
  mkdirSync(dir, { recursive: true });
  const metrics = (await conn.runAndReadAll('SELECT metric, count(*) AS n, count(DISTINCT value) AS d FROM src GROUP BY metric ORDER BY metric')).getRowObjectsJS();
  const out: MetricValueCost[] = [];
  try {
    for (const m of metrics) {
      const metric = String(m.metric);
      const where = `metric = ${sqlString(metric)}`;
      let decimals: number | null = null;
      for (let k = 0; k <= 9 && decimals === null; k++) {
        const bad = (await conn.runAndReadAll(`SELECT count(*) AS n FROM src WHERE ${where} AND TRY_CAST(value AS DECIMAL(18,${k}))::DOUBLE IS DISTINCT FROM value`)).getRowObjectsJS()[0].n;
        if (Number(bad) === 0) decimals = k;
      }
      const sizes: Record<string, { value: number; ts: number; enc: string; tsEnc: string }> = {};
      for (const version of ['V1', 'V2']) {
        const path = join(dir, `${out.length}-${version}.parquet`);
        await conn.run(
          `COPY (SELECT ts, value FROM src WHERE ${where} ORDER BY sensor_id, ts) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 19, PARQUET_VERSION ${version})`,
        );
        const s = await measureFiles(conn, [path]);
        sizes[version] = { value: s.columns.value ?? 0, ts: s.columns.ts ?? 0, enc: s.encodings.value ?? '', tsEnc: s.encodings.ts ?? '' };
      }
      const n = Number(m.n);
      out.push({
        metric,
        readings: n,
        distinctValues: Number(m.d),
        decimals,
        valueV1: r3(sizes.V1.value / n),
        valueV2: r3(sizes.V2.value / n),
        valueEncodingV2: sizes.V2.enc,
        tsV1: r3(sizes.V1.ts / n),
        tsV2: r3(sizes.V2.ts / n),
        tsEncodingV2: sizes.V2.tsEnc,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
