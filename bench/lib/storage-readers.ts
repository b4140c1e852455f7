/**
 * A second, independent reader of every variant: hyparquet (pure JS, with hyparquet-compressors for
 * zstd; the reader the lake tests already use). It must decode the files and get what DuckDB gets
 * from them: the row count, the sum of `value` and the first and last timestamps. pyarrow, pandas,
 * Spark and Trino are not installed here and are not checked.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { sqlString } from './storage-measure.js';

export interface ReaderCheck {
  reader: 'hyparquet';
  ok: boolean;
  /** Rows decoded (capped per file: `rowsPerFile`). */
  rows: number;
  problem?: string;
}

interface Digest {
  n: number;
  sum: number;
  minTs: number;
  maxTs: number;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Reads up to `rowsPerFile` rows of each file with hyparquet and compares them with DuckDB's reading of the same rows. */
export async function checkHyparquet(conn: DuckDBConnection, paths: string[], rowsPerFile: number): Promise<ReaderCheck> {
  let rows = 0;
  try {
    for (const path of paths) {
      const file = await asyncBufferFromFile(path);
      const meta = await parquetMetadataAsync(file);
      const rowEnd = Math.min(Number(meta.num_rows), rowsPerFile);
      const objs = await parquetReadObjects({ file, metadata: meta, compressors, rowStart: 0, rowEnd, columns: ['ts', 'value'], parsers: { timestampFromMicroseconds: (us: bigint) => Number(us) / 1000 } });
      const got: Digest = { n: objs.length, sum: 0, minTs: Infinity, maxTs: -Infinity };
      for (const o of objs) {
        got.sum += Number(o.value);
        const t = Number(o.ts);
        if (t < got.minTs) got.minTs = t;
        if (t > got.maxTs) got.maxTs = t;
      }
      // One DuckDB thread reads a file in order, so LIMIT takes the same first rows.
      const d = (
        await conn.runAndReadAll(
          `SELECT count(*) AS n, sum(value::DOUBLE) AS s, epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi FROM (SELECT ts, value FROM read_parquet(${sqlString(path)}, hive_partitioning = false) LIMIT ${rowEnd})`,
        )
      ).getRowObjectsJS()[0];
      const want: Digest = { n: Number(d.n), sum: Number(d.s), minTs: Number(d.lo), maxTs: Number(d.hi) };
      rows += got.n;
      // Values are summed in a different order: compare with a relative tolerance.
      if (got.n !== want.n || !close(got.sum, want.sum) || got.minTs !== want.minTs || got.maxTs !== want.maxTs) {
        return { reader: 'hyparquet', ok: false, rows, problem: `${path}: hyparquet ${JSON.stringify(got)} vs DuckDB ${JSON.stringify(want)}` };
      }
    }
    return { reader: 'hyparquet', ok: true, rows };
  } catch (err) {
    return { reader: 'hyparquet', ok: false, rows, problem: (err as Error).message };
  }
}
