/**
 * Encodes lake rows as Parquet with a private in-memory DuckDB instance: rows go through the
 * appender into a scratch table, then one `COPY (SELECT … ORDER BY sensor_id, metric, ts) TO …`
 * per output file writes a zstd-compressed file with row-group min/max statistics.
 *
 * The encoder only writes local files; where they end up (and how atomically) is the store's job.
 * One encoder holds one connection and must not be called concurrently (the lake serializes writes).
 */
import { DOUBLE, DuckDBInstance, DuckDBTimestampValue, INTEGER, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { appendColumns, appendDictionary } from '../duckdb-columns.js';
import { toColumns, type RawColumns } from './raw-columns.js';
import type { EpochMs } from '../../core/types.js';

/** One accepted reading as stored under `raw/`. */
export interface RawRow {
  sensorId: string;
  metric: string;
  ts: EpochMs;
  value: number;
  seq: number | null;
  receivedAt: EpochMs;
  source: string;
  topic: string;
  deviceId: string | null;
  offset: number;
}

/** One quarantined item as stored under `quarantine/`. */
export interface QuarantineRow {
  receivedAt: EpochMs;
  source: string;
  topic: string | null;
  deviceId: string | null;
  sensorId: string | null;
  metric: string | null;
  ts: EpochMs | null;
  reason: string;
  detail: string;
  payload: string;
  offset: number;
}

export interface ParquetEncoding {
  /** zstd level, 1..22. */
  zstdLevel: number;
  /** Rows per row group (DuckDB's minimum is 2,048; its default 122,880). */
  rowGroupSize?: number;
  /**
   * 'V1' (default) writes the encodings every Parquet reader knows (dictionary, plain, RLE).
   * 'V2' lets DuckDB use DELTA_BINARY_PACKED / BYTE_STREAM_SPLIT / DELTA_LENGTH_BYTE_ARRAY and
   * data page v2, which some readers (older pyarrow/pandas, several SQL engines) cannot read.
   */
  parquetVersion?: 'V1' | 'V2';
}

interface Column<R> {
  name: string;
  sql: string;
  put(a: DuckDBAppender, row: R): void;
}

function varchar(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull();
  else a.appendVarchar(v);
}

/** Epoch ms (fractions keep microseconds) as a DuckDB TIMESTAMP, which is UTC by convention here. */
function timestamp(a: DuckDBAppender, ms: EpochMs | null): void {
  if (ms === null) a.appendNull();
  else a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(ms * 1000))));
}


/** The scratch table raw rows are appended to, in this order (raw-columns.ts). */
const RAW_CHUNK_COLUMNS = ['sensor_code', 'metric_code', 'source_code', 'topic_code', 'device_code', 'ts_us', 'value', 'seq', 'received_us', 'spool_offset', '_file', '_ord'] as const;
const RAW_CHUNK_TYPES = RAW_CHUNK_COLUMNS.map((c) => (c.endsWith('_code') || c.startsWith('_') ? INTEGER : DOUBLE));
/** Appends one job's columns; returns the next row ordinal. */
function appendRawChunks(appender: DuckDBAppender, c: RawColumns, file: number, ord: number): number {
  const n = c.tsMicros.length;
  const device = Array.from(c.deviceId, (d): DuckDBValue => (d < 0 ? null : d));
  const seq = Array.from(c.seq, (q): DuckDBValue => (Number.isNaN(q) ? null : q));
  const ords = Array.from({ length: n }, (_, i) => ord + i);
  const files = new Array<DuckDBValue>(n).fill(file);
  appendColumns(appender, RAW_CHUNK_TYPES, [c.sensorId, c.metric, c.source, c.topic, device, c.tsMicros, c.value, seq, c.receivedMicros, c.offset, files, ords], n);
  return ord + n;
}


export const QUARANTINE_COLUMNS: Column<QuarantineRow>[] = [
  { name: 'received_at', sql: 'TIMESTAMP NOT NULL', put: (a, r) => timestamp(a, r.receivedAt) },
  { name: 'source', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.source) },
  { name: 'topic', sql: 'VARCHAR', put: (a, r) => varchar(a, r.topic) },
  { name: 'device_id', sql: 'VARCHAR', put: (a, r) => varchar(a, r.deviceId) },
  { name: 'sensor_id', sql: 'VARCHAR', put: (a, r) => varchar(a, r.sensorId) },
  { name: 'metric', sql: 'VARCHAR', put: (a, r) => varchar(a, r.metric) },
  { name: 'ts', sql: 'TIMESTAMP', put: (a, r) => timestamp(a, r.ts) },
  { name: 'reason', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.reason) },
  { name: 'detail', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.detail) },
  { name: 'payload', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.payload) },
  { name: 'spool_offset', sql: 'BIGINT NOT NULL', put: (a, r) => a.appendBigInt(BigInt(r.offset)) },
];

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export interface EncodeJob<R> {
  /** Local path of the file to create (the caller's temporary name). */
  path: string;
  rows: R[];
}

export class ParquetEncoder {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly copyOptions: string,
    private readonly tables: Record<'raw_cols' | 'raw_dict' | 'quarantine_rows', string>,
  ) {}

  /**
   * Scratch tables are made anew for every write and dropped after it: rows deleted from a table
   * of an in-memory database keep their memory (DuckDB 1.5.6: ~1 MB more per 40k-row batch).
   */
  private async fresh(...names: (keyof ParquetEncoder['tables'])[]): Promise<void> {
    for (const n of names) await this.conn.run(this.tables[n]);
  }

  private async drop(...names: (keyof ParquetEncoder['tables'])[]): Promise<void> {
    for (const n of names) await this.conn.run(`DROP TABLE IF EXISTS ${n}`);
  }

  static async create(enc: ParquetEncoding): Promise<ParquetEncoder> {
    if (!Number.isInteger(enc.zstdLevel) || enc.zstdLevel < 1 || enc.zstdLevel > 22) {
      throw new RangeError(`zstd level must be an integer 1..22, got ${enc.zstdLevel}`);
    }
    const rowGroupSize = enc.rowGroupSize ?? 122_880;
    // One thread: the files are small, and the warehouse's DuckDB shares the machine.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    const columnsSql = (cols: Column<unknown>[]) => [...cols.map((c) => `${c.name} ${c.sql}`), '_file INTEGER NOT NULL', '_ord INTEGER NOT NULL'].join(', ');
    const tables = {
      raw_cols: `CREATE OR REPLACE TABLE raw_cols (${RAW_CHUNK_COLUMNS.map((c) => `${c} ${c.endsWith('_code') || c.startsWith('_') ? 'INTEGER' : 'DOUBLE'}`).join(', ')})`,
      raw_dict: 'CREATE OR REPLACE TABLE raw_dict (code INTEGER NOT NULL, text VARCHAR NOT NULL)',
      quarantine_rows: `CREATE OR REPLACE TABLE quarantine_rows (${columnsSql(QUARANTINE_COLUMNS as Column<unknown>[])})`,
    };
    const opts = [
      'FORMAT parquet',
      'COMPRESSION zstd',
      `COMPRESSION_LEVEL ${enc.zstdLevel}`,
      `ROW_GROUP_SIZE ${rowGroupSize}`,
      `PARQUET_VERSION ${enc.parquetVersion ?? 'V1'}`,
    ].join(', ');
    return new ParquetEncoder(instance, conn, opts, tables);
  }

  writeRaw(jobs: EncodeJob<RawRow>[]): Promise<void> {
    const columns = toColumns(jobs.map((j) => j.rows));
    return this.writeRawColumns(jobs.map((j, i) => ({ path: j.path, columns: columns[i] })));
  }

  /**
   * Raw rows given as columns (raw-columns.ts): numbers fill DuckDB vectors a chunk at a time and
   * strings arrive once each, in a dictionary joined back in the COPY, so appending costs no
   * native call per row. The files are the same as writeRaw's: same columns, types and order.
   */
  async writeRawColumns(jobs: { path: string; columns: RawColumns }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.fresh('raw_cols', 'raw_dict');
    try {
      const rows = await this.conn.createAppender('raw_cols');
      try {
        let ord = 0;
        jobs.forEach((job, file) => {
          ord = appendRawChunks(rows, job.columns, file, ord);
        });
        rows.flushSync();
      } finally {
        rows.closeSync();
      }
      const dict = await this.conn.createAppender('raw_dict');
      try {
        appendDictionary(dict, jobs[0].columns.texts);
        dict.flushSync();
      } finally {
        dict.closeSync();
      }
      for (let i = 0; i < jobs.length; i++) {
        await this.conn.run(
          `COPY (SELECT s.text AS sensor_id, m.text AS metric, make_timestamp(r.ts_us::BIGINT) AS ts, r.value AS value, r.seq::BIGINT AS seq,
                  make_timestamp(r.received_us::BIGINT) AS received_at, so.text AS source, tp.text AS topic, dv.text AS device_id,
                  r.spool_offset::BIGINT AS spool_offset
                FROM raw_cols r
                JOIN raw_dict s ON s.code = r.sensor_code JOIN raw_dict m ON m.code = r.metric_code
                JOIN raw_dict so ON so.code = r.source_code JOIN raw_dict tp ON tp.code = r.topic_code
                LEFT JOIN raw_dict dv ON dv.code = r.device_code
                WHERE r._file = ${i} ORDER BY s.text, m.text, r.ts_us, r.spool_offset, r._ord) ` + `TO ${sqlString(jobs[i].path)} (${this.copyOptions})`,
        );
      }
    } finally {
      await this.drop('raw_cols', 'raw_dict');
    }
  }

  /** Quarantine items are few (bad data): appended row by row, one sorted file per job. */
  writeQuarantine(jobs: EncodeJob<QuarantineRow>[]): Promise<void> {
    return this.writeRows(QUARANTINE_COLUMNS, jobs);
  }

  /** Appends every job's rows once (tagged with the job's index), then writes one sorted file per job. */
  private async writeRows(columns: Column<QuarantineRow>[], jobs: EncodeJob<QuarantineRow>[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.fresh('quarantine_rows');
    try {
      const appender = await this.conn.createAppender('quarantine_rows');
      try {
        let ord = 0;
        jobs.forEach((job, file) => {
          for (const row of job.rows) {
            for (const c of columns) c.put(appender, row);
            appender.appendInteger(file);
            appender.appendInteger(ord++);
            appender.endRow();
          }
        });
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      const names = columns.map((c) => c.name).join(', ');
      for (let i = 0; i < jobs.length; i++) {
        await this.conn.run(
          `COPY (SELECT ${names} FROM quarantine_rows WHERE _file = ${i} ORDER BY sensor_id, metric, ts, spool_offset, _ord) ` +
            `TO ${sqlString(jobs[i].path)} (${this.copyOptions})`,
        );
      }
    } finally {
      await this.drop('quarantine_rows');
    }
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
