import type { SensorSpec } from './registry.js';
import type { SqlDialect } from './sql-dialect.js';
import type { DerivedQuarantine, EpochMs, SinkBatch, WarehouseOutcome } from './types.js';

/** One row of the accounting identity: received = accepted + quarantined + rejected (duplicates are a subset of accepted). */
export interface AccountingRow {
  source: string;
  outcome: 'accepted' | 'quarantined' | 'rejected' | 'duplicate';
  reason: string; // '' for accepted/duplicate
  items: number;
}

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
  truncated: boolean;
}

export interface QueryOptions {
  /** Cap on returned rows; `truncated` says when more existed. */
  maxRows?: number;
  /** Abort the statement after this long. */
  timeoutMs?: number;
}

/**
 * The SQL warehouse (DuckDB by default, PostgreSQL at scale): one logical schema.
 *
 * `writeBatch` is called by the writer with consecutive spool ranges. In ONE transaction it
 * inserts accepted readings (never two rows per (sensor_id, metric, ts): an exact repeat is a
 * duplicate, a different value is quarantined as `conflicting_duplicate`, the first value stays),
 * quarantine rows, accounting counters, auto-registered sensors/metrics, and its own high-water
 * mark. Records at or below the high-water mark are skipped, and the outcome stored for them is
 * returned, so a replay after a crash changes nothing and answers the same.
 * It throws only on infrastructure faults; the writer then retries the same batch with backoff
 * and the spool checkpoint does not advance.
 */
export interface Warehouse {
  readonly kind: 'duckdb' | 'postgres';
  /** The few SQL expressions that differ between the engines (core/sql-dialect.ts). */
  readonly dialect: SqlDialect;
  open(): Promise<void>;
  writeBatch(batch: SinkBatch): Promise<WarehouseOutcome>;
  committedOffset(): Promise<number>;
  /** Registry as stored (sensors + sensor_metrics). */
  loadRegistry(): Promise<SensorSpec[]>;
  upsertSensor(spec: SensorSpec): Promise<void>;
  /** Mirror of the device list (no secrets) for BI. */
  syncDevices(devices: { deviceId: string; sensors: string[]; createdAt: EpochMs }[]): Promise<void>;
  accounting(range?: { from?: EpochMs; to?: EpochMs }): Promise<AccountingRow[]>;
  /**
   * One transaction for a batch job, serialized with pipeline writes. Jobs write SQL that both
   * engines accept (ANSI plus the few functions they share) with `$1`-style parameters. Throws on
   * infrastructure faults or bad SQL; everything done in `fn` is rolled back then.
   */
  jobTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /** Read-only SQL for analysts and the CLI. Throws a QueryError with a clear message on bad SQL or a refused statement. */
  query(sql: string, opts?: QueryOptions): Promise<QueryResult>;
  close(): Promise<void>;
}

/** What a job may do inside `Warehouse.jobTransaction`. */
export interface SqlTx {
  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params?: (string | number | boolean | null)[]): Promise<number>;
  /** Runs a query; rows come back JSON-friendly (numbers, ISO timestamps ending in Z). */
  all<T = Record<string, unknown>>(sql: string, params?: (string | number | boolean | null)[]): Promise<T[]>;
}

export class QueryError extends Error {
  constructor(message: string, public readonly code: 'refused' | 'invalid' | 'timeout' = 'invalid') {
    super(message);
  }
}

/**
 * The Parquet lake (file system by default, Azure Blob at scale).
 *
 * `writeBatch` writes the batch's accepted readings under `raw/` and its quarantined items (plus the
 * warehouse's conflicts) under `quarantine/`, Hive-partitioned, sorted by (sensor_id, metric, ts),
 * zstd. File names derive from the batch's first spool offset, so writing the same range again
 * replaces files instead of adding new ones. Each file is written to a temporary name, fsync'd and
 * renamed: readers never see a partial file. Throws only on infrastructure faults (writer retries).
 *
 * `conflicts` may be the promise of the warehouse's verdict on the same batch: the lake may encode
 * the raw files meanwhile (they do not depend on it), but publishes nothing before it resolves, and
 * rejects with its error (publishing nothing) when it rejects.
 */
export interface Lake {
  open(): Promise<void>;
  writeBatch(batch: SinkBatch, conflicts: DerivedQuarantine[] | PromiseLike<DerivedQuarantine[]>): Promise<{ files: string[] }>;
  committedOffset(): Promise<number>;
  close(): Promise<void>;
}
