/**
 * DDL of the PostgreSQL warehouse: the same logical schema as DuckDB (schema-duckdb.ts says what
 * every table and column means), the same views (schema-views.ts), in one PostgreSQL schema
 * (`warehouse.postgres.schema`, default `sensorpipe`) that every connection puts first on its
 * search_path. Every statement is idempotent; `open()` runs them all in one transaction under an
 * advisory lock, so several collector processes starting at once do not race on `CREATE … IF NOT
 * EXISTS` (which is not concurrency-safe in PostgreSQL).
 *
 * Differences from DuckDB, all invisible to SQL written against the logical schema:
 * - Types: TEXT for VARCHAR, DOUBLE PRECISION for DOUBLE, TEXT[] for VARCHAR[]; TIMESTAMP
 *   (without time zone) holding UTC, as in DuckDB.
 * - `readings` and the aggregate tables HAVE a primary key. DuckDB leaves it out for speed and
 *   relies on its single serialized writer; in PostgreSQL the B-tree is what makes the
 *   classification join an index lookup, and it keeps uniqueness even with several writer
 *   processes (the insert uses ON CONFLICT DO NOTHING as a last guard).
 * - `quarantine.rowid`: an identity column standing in for DuckDB's implicit rowid, which the
 *   quarantine API uses to name rows.
 * - Indexes for the pipeline's own lookups: readings by spool_offset (replays, late-data scan)
 *   and quarantine by spool_offset; readings by time (BRIN) for the jobs' time windows.
 */
import { QUALITY_RESULTS_DDL } from '../../core/quality-results.js';
import { BI_VIEWS } from './schema-views.js';

/** Quotes an identifier (schema or role name) for PostgreSQL. */
export function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const AGGREGATE_TABLES = ['readings_1m', 'readings_1h', 'readings_1d'] as const;

export const POSTGRES_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS sensors (
    sensor_id TEXT PRIMARY KEY,
    location TEXT,
    type TEXT,
    expected_interval_s DOUBLE PRECISION,
    created_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS sensor_metrics (
    sensor_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT,
    min_value DOUBLE PRECISION,
    max_value DOUBLE PRECISION,
    PRIMARY KEY (sensor_id, metric)
  )`,
  `CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    sensors TEXT[] NOT NULL,
    created_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS readings (
    sensor_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    seq BIGINT,
    spool_offset BIGINT NOT NULL,
    PRIMARY KEY (sensor_id, metric, ts)
  )`,
  'CREATE INDEX IF NOT EXISTS readings_spool_offset ON readings (spool_offset)',
  // Time ranges over every sensor (the resample job's hourly window, BI scans by time): without it each
  // window was a full scan of readings (11 s per window at 100 M readings, bench/queries.ts). BRIN:
  // readings arrive roughly in time order, it stays tiny (a B-tree on ts would cost every insert).
  'CREATE INDEX IF NOT EXISTS readings_ts_brin ON readings USING brin (ts)',
  `CREATE TABLE IF NOT EXISTS quarantine (
    received_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    topic TEXT,
    device_id TEXT,
    sensor_id TEXT,
    metric TEXT,
    ts TIMESTAMP,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload TEXT NOT NULL,
    spool_offset BIGINT NOT NULL,
    detected_by TEXT NOT NULL,
    replayed_at TIMESTAMP,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
  )`,
  'CREATE INDEX IF NOT EXISTS quarantine_spool_offset ON quarantine (spool_offset)',
  `CREATE TABLE IF NOT EXISTS ingest_counts (
    hour TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    items BIGINT NOT NULL,
    PRIMARY KEY (hour, source, outcome, reason)
  )`,
  `CREATE TABLE IF NOT EXISTS sink_offsets (
    sink TEXT PRIMARY KEY,
    committed_offset BIGINT NOT NULL
  )`,
  // --- jobs (src/jobs) ---
  ...AGGREGATE_TABLES.map(
    (t) => `CREATE TABLE IF NOT EXISTS ${t} (
    sensor_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    bucket TIMESTAMP NOT NULL,
    count BIGINT NOT NULL,
    min DOUBLE PRECISION NOT NULL,
    max DOUBLE PRECISION NOT NULL,
    avg DOUBLE PRECISION NOT NULL,
    sum DOUBLE PRECISION NOT NULL,
    first DOUBLE PRECISION NOT NULL,
    last DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sensor_id, metric, bucket)
  )`,
  ),
  ...AGGREGATE_TABLES.map((t) => `CREATE INDEX IF NOT EXISTS ${t}_bucket ON ${t} (bucket)`),
  `CREATE TABLE IF NOT EXISTS job_runs (
    run_id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    rows BIGINT,
    duration_ms BIGINT,
    error TEXT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    detail TEXT
  )`,
  `CREATE TABLE IF NOT EXISTS dirty_windows (
    level TEXT NOT NULL,
    sensor_id TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    marked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (level, sensor_id, window_start)
  )`,
  `CREATE TABLE IF NOT EXISTS aggregate_state (
    level TEXT PRIMARY KEY,
    covered_until TIMESTAMP,
    retained_from TIMESTAMP,
    scanned_offset BIGINT,
    updated_at TIMESTAMP NOT NULL
  )`,
  QUALITY_RESULTS_DDL,
  ...BI_VIEWS,
];

/**
 * Per-session scratch tables of the writer (TEMP: private to the connection; emptied at every
 * commit). `wh_stage` receives a batch's readings through COPY; `wh_cls` holds their classification.
 */
export const POSTGRES_WRITER_TEMP: readonly string[] = [
  `CREATE TEMP TABLE IF NOT EXISTS wh_stage (
    ord BIGINT NOT NULL,
    spool_offset BIGINT NOT NULL,
    sensor_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    seq BIGINT
  ) ON COMMIT DELETE ROWS`,
  `CREATE TEMP TABLE IF NOT EXISTS wh_cls (
    ord BIGINT NOT NULL,
    spool_offset BIGINT NOT NULL,
    sensor_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    seq BIGINT,
    existing_value DOUBLE PRECISION,
    found BOOLEAN NOT NULL,
    first_value DOUBLE PRECISION NOT NULL,
    rn BIGINT NOT NULL
  ) ON COMMIT DELETE ROWS`,
];

/**
 * Advisory lock names, per schema: `SELECT pg_advisory_xact_lock(hashtext($1))` with the name.
 * A hash collision only serializes two unrelated things; it never lets two writers in at once.
 */
export const lockNames = (schema: string) => ({
  /** Creating or upgrading the schema. */
  setup: `sensorpipe:setup:${schema}`,
  /** Pipeline writes and job transactions: the Warehouse contract serializes them. */
  writes: `sensorpipe:writes:${schema}`,
});
