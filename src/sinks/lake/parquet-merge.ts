/**
 * Merges lake Parquet files into one file sorted by (sensor_id, metric, ts, spool_offset), with
 * zstd at a chosen level and min/max statistics per row group, using a private in-memory DuckDB.
 * Every input row is written exactly once (no deduplication: the raw layer keeps repeats).
 *
 * Inputs must share one schema (one data set: raw or quarantine). Hive partition columns are not
 * added: the files carry their own columns, as the writer wrote them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_ROW_GROUP_SIZE } from './fs-lake.js';

export interface MergeOptions {
  zstdLevel: number;
  rowGroupSize?: number;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

export class ParquetMerger {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly spillDir: string,
  ) {}

  static async create(): Promise<ParquetMerger> {
    // Sorting a large partition may spill; keep that out of the working directory.
    const spillDir = mkdtempSync(join(tmpdir(), 'sensorpipe-merge-'));
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', temp_directory: spillDir });
    return new ParquetMerger(instance, await instance.connect(), spillDir);
  }

  /** Writes `inputs` (local paths) merged and sorted to `output` (a local path); returns the row count. */
  async merge(inputs: string[], output: string, opts: MergeOptions): Promise<number> {
    if (inputs.length === 0) throw new Error('nothing to merge: no input files');
    if (!Number.isInteger(opts.zstdLevel) || opts.zstdLevel < 1 || opts.zstdLevel > 22) throw new RangeError(`zstd level must be 1..22, got ${opts.zstdLevel}`);
    const files = `[${inputs.map(sqlString).join(', ')}]`;
    const reader = `read_parquet(${files}, hive_partitioning = false, union_by_name = false)`;
    // Parquet V1 for merged files too: measured (bench/lake-storage.ts, docs/performance-storage.md),
    // V2 is 6% larger on a compacted fleet day at zstd 6 and 19% larger on the UCI Occupancy data
    // (BYTE_STREAM_SPLIT loses to PLAIN + zstd on its doubles), and fewer engines read it.
    const copy =
      `COPY (SELECT * FROM ${reader} ORDER BY sensor_id, metric, ts, spool_offset) TO ${sqlString(output)} ` +
      `(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${opts.zstdLevel}, ROW_GROUP_SIZE ${opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE}, PARQUET_VERSION V1)`;
    const result = await this.conn.run(copy);
    return Number(result.rowsChanged);
  }

  /** Row count of local Parquet files (from their footers). */
  async countRows(paths: string[]): Promise<number> {
    if (paths.length === 0) return 0;
    const r = await this.conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet([${paths.map(sqlString).join(', ')}], hive_partitioning = false)`);
    return Number(r.getRowObjectsJS()[0]?.n ?? 0);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
    rmSync(this.spillDir, { recursive: true, force: true });
  }
}
