/**
 * Encodes lake rows as Parquet with a private in-memory DuckDB instance: rows go through the
 * appender into a scratch table, then one `COPY (SELECT … ORDER BY sensor_id, metric, ts) TO …`
 * per output file writes a zstd-compressed file with row-group min/max statistics.
 *
 * The encoder only writes local files; where they end up (and how atomically) is the store's job.
 * One encoder holds one connection and must not be called concurrently (the lake serializes writes).
 */
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
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

const MAX_INT64 = 2n ** 63n - 1n;

function varchar(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull();
  else a.appendVarchar(v);
}

/** Epoch ms (fractions keep microseconds) as a DuckDB TIMESTAMP, which is UTC by convention here. */
function timestamp(a: DuckDBAppender, ms: EpochMs | null): void {
  if (ms === null) a.appendNull();
  else a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(ms * 1000))));
}

function bigint(a: DuckDBAppender, v: number | null): void {
  // A sequence number outside the int64 range or not an integer cannot be stored as BIGINT; validation
  // should never let one through, and failing the batch here would block the writer forever.
  if (v === null || !Number.isInteger(v)) a.appendNull();
  else {
    const b = BigInt(v);
    if (b > MAX_INT64 || b < -MAX_INT64) a.appendNull();
    else a.appendBigInt(b);
  }
}

export const RAW_COLUMNS: Column<RawRow>[] = [
  { name: 'sensor_id', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.sensorId) },
  { name: 'metric', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.metric) },
  { name: 'ts', sql: 'TIMESTAMP NOT NULL', put: (a, r) => timestamp(a, r.ts) },
  { name: 'value', sql: 'DOUBLE NOT NULL', put: (a, r) => a.appendDouble(r.value) },
  { name: 'seq', sql: 'BIGINT', put: (a, r) => bigint(a, r.seq) },
  { name: 'received_at', sql: 'TIMESTAMP NOT NULL', put: (a, r) => timestamp(a, r.receivedAt) },
  { name: 'source', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.source) },
  { name: 'topic', sql: 'VARCHAR NOT NULL', put: (a, r) => a.appendVarchar(r.topic) },
  { name: 'device_id', sql: 'VARCHAR', put: (a, r) => varchar(a, r.deviceId) },
  { name: 'spool_offset', sql: 'BIGINT NOT NULL', put: (a, r) => a.appendBigInt(BigInt(r.offset)) },
];

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
  ) {}

  static async create(enc: ParquetEncoding): Promise<ParquetEncoder> {
    if (!Number.isInteger(enc.zstdLevel) || enc.zstdLevel < 1 || enc.zstdLevel > 22) {
      throw new RangeError(`zstd level must be an integer 1..22, got ${enc.zstdLevel}`);
    }
    const rowGroupSize = enc.rowGroupSize ?? 122_880;
    // One thread: the files are small, and the warehouse's DuckDB shares the machine.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    const columnsSql = (cols: Column<unknown>[]) => [...cols.map((c) => `${c.name} ${c.sql}`), '_file INTEGER NOT NULL', '_ord INTEGER NOT NULL'].join(', ');
    await conn.run(`CREATE TABLE raw_rows (${columnsSql(RAW_COLUMNS as Column<unknown>[])})`);
    await conn.run(`CREATE TABLE quarantine_rows (${columnsSql(QUARANTINE_COLUMNS as Column<unknown>[])})`);
    const opts = [
      'FORMAT parquet',
      'COMPRESSION zstd',
      `COMPRESSION_LEVEL ${enc.zstdLevel}`,
      `ROW_GROUP_SIZE ${rowGroupSize}`,
      `PARQUET_VERSION ${enc.parquetVersion ?? 'V1'}`,
    ].join(', ');
    return new ParquetEncoder(instance, conn, opts);
  }

  writeRaw(jobs: EncodeJob<RawRow>[]): Promise<void> {
    return this.write('raw_rows', RAW_COLUMNS, jobs);
  }

  writeQuarantine(jobs: EncodeJob<QuarantineRow>[]): Promise<void> {
    return this.write('quarantine_rows', QUARANTINE_COLUMNS, jobs);
  }

  /** Appends every job's rows once (tagged with the job's index), then writes one sorted file per job. */
  private async write<R>(table: string, columns: Column<R>[], jobs: EncodeJob<R>[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.conn.run(`TRUNCATE ${table}`);
    try {
      const appender = await this.conn.createAppender(table);
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
          `COPY (SELECT ${names} FROM ${table} WHERE _file = ${i} ORDER BY sensor_id, metric, ts, spool_offset, _ord) ` +
            `TO ${sqlString(jobs[i].path)} (${this.copyOptions})`,
        );
      }
    } finally {
      await this.conn.run(`TRUNCATE ${table}`);
    }
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
