/**
 * DDL of the DuckDB warehouse (DESIGN §4). Every statement is idempotent (`IF NOT EXISTS`), so
 * opening a file runs all of them.
 *
 * Time: every time column is `TIMESTAMP` (without time zone) holding **UTC**, millisecond
 * precision in practice (DuckDB stores microseconds). Never compare them with local-time values;
 * `EpochMs` values from the pipeline are converted with `tsValue()` in duckdb-values.ts.
 *
 * Logical schema shared with the PostgreSQL warehouse (same tables, columns and meanings):
 *
 * - `sensors`, `sensor_metrics`: the registry (validation keeps it in memory; this is its home).
 * - `devices`: mirror of the device list for BI (no secrets).
 * - `readings`: typed, deduplicated readings. Never two rows for (sensor_id, metric, ts).
 *   There is deliberately NO primary key: uniqueness is enforced by the single writer
 *   (`writeBatch`, serialized, one process holds the file lock) with a range-restricted anti-join;
 *   a PRIMARY KEY measured 2.5-4x slower per batch and 8.5x larger on disk (figures in
 *   duckdb-write-batch.ts). Any other code that inserts into `readings` must use the same rule.
 *   `spool_offset` is the spool record a reading came from (lineage; lets a replayed batch
 *   recompute what it inserted). Extension of the brief's column list, kept in the logical schema.
 * - `quarantine`: everything not stored as a reading, with its reason code (never deleted by the
 *   pipeline). `detected_by` is `validation` (item came with the spool record) or `warehouse`
 *   (a `conflicting_duplicate` found while inserting); replays rebuild the warehouse's
 *   conflicts from the `warehouse` rows of their spool range. `replayed_at` (added by an idempotent
 *   ALTER) marks rows replayed through POST /v1/quarantine/replay; the API names rows by `rowid`.
 * - `ingest_counts`: the accounting identity per hour of `received_at`, source, outcome, reason:
 *   received = accepted + quarantined + rejected. `duplicate` rows are a SUBSET of `accepted`
 *   (an exact repeat is accepted, counted, and not stored twice) and must not be added again.
 *   `reason` is '' for accepted/duplicate.
 * - `sink_offsets`: high-water mark of the spool offsets each sink has durably written.
 *
 * Jobs (src/jobs, docs/jobs.md):
 * - `readings_1m`, `readings_1h`, `readings_1d`: aggregates per (sensor_id, metric, bucket), bucket =
 *   start of the minute/hour/day. `avg` = sum/count; `first`/`last` = value at the earliest/latest ts.
 *   Coarser levels are built from the finer one (never averaging averages). Like `readings`, no
 *   PRIMARY KEY: uniqueness is kept by the jobs, which delete and insert whole windows in one
 *   transaction, one job run at a time (a PostgreSQL schema should add a unique index).
 * - `job_runs`: one row per job run over a window (`triggered_by` schedule | manual | pending),
 *   status running | ok | failed | skipped, `detail` is JSON text.
 * - `dirty_windows`: (level, sensor_id, window) that must be recomputed at that aggregate level
 *   because data arrived after the window was aggregated.
 * - `aggregate_state`: per level ('raw', '1m', '1h', '1d'): how far it has been computed
 *   (`covered_until`), where retention has cut it (`retained_from`), and for '1m' the spool offset
 *   up to which new readings were scanned for late data (`scanned_offset`).
 * - `quality_results`: written by the quality checks; created here too (idempotently) so that
 *   `v_sensor_health` always works. `check` is a reserved word: always quote it.
 * - Views for BI: `v_hourly`, `v_daily` (aggregates with sensor metadata and units), `v_sensor_health`.
 *   View SQL is portable (PostgreSQL accepts it unchanged); "today" is the UTC day.
 */
import { QUALITY_RESULTS_DDL } from '../../core/quality-results.js';
import { BI_VIEWS } from './schema-views.js';

export const DUCKDB_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS sensors (
    sensor_id VARCHAR PRIMARY KEY,
    location VARCHAR,
    type VARCHAR,
    expected_interval_s DOUBLE,
    created_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS sensor_metrics (
    sensor_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    unit VARCHAR,
    min_value DOUBLE,
    max_value DOUBLE,
    PRIMARY KEY (sensor_id, metric)
  )`,
  `CREATE TABLE IF NOT EXISTS devices (
    device_id VARCHAR PRIMARY KEY,
    sensors VARCHAR[] NOT NULL,
    created_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS readings (
    sensor_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    seq BIGINT,
    spool_offset BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS quarantine (
    received_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    topic VARCHAR,
    device_id VARCHAR,
    sensor_id VARCHAR,
    metric VARCHAR,
    ts TIMESTAMP,
    reason VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    spool_offset BIGINT NOT NULL,
    detected_by VARCHAR NOT NULL
  )`,
  // Additive migration: when a row was replayed through POST /v1/quarantine/replay (null = never).
  // Rows are marked, never deleted; the replay's own outcome is a new message.
  `ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS replayed_at TIMESTAMP`,
  `CREATE TABLE IF NOT EXISTS ingest_counts (
    hour TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    items BIGINT NOT NULL,
    PRIMARY KEY (hour, source, outcome, reason)
  )`,
  `CREATE TABLE IF NOT EXISTS sink_offsets (
    sink VARCHAR PRIMARY KEY,
    committed_offset BIGINT NOT NULL
  )`,
  // --- jobs (src/jobs) ---
  ...['readings_1m', 'readings_1h', 'readings_1d'].map(
    (t) => `CREATE TABLE IF NOT EXISTS ${t} (
    sensor_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    bucket TIMESTAMP NOT NULL,
    count BIGINT NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    avg DOUBLE NOT NULL,
    sum DOUBLE NOT NULL,
    first DOUBLE NOT NULL,
    last DOUBLE NOT NULL
  )`,
  ),
  `CREATE TABLE IF NOT EXISTS job_runs (
    run_id VARCHAR PRIMARY KEY,
    job VARCHAR NOT NULL,
    triggered_by VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    rows BIGINT,
    duration_ms BIGINT,
    error VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    detail VARCHAR
  )`,
  `CREATE TABLE IF NOT EXISTS dirty_windows (
    level VARCHAR NOT NULL,
    sensor_id VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    marked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (level, sensor_id, window_start)
  )`,
  `CREATE TABLE IF NOT EXISTS aggregate_state (
    level VARCHAR PRIMARY KEY,
    covered_until TIMESTAMP,
    retained_from TIMESTAMP,
    scanned_offset BIGINT,
    updated_at TIMESTAMP NOT NULL
  )`,
  QUALITY_RESULTS_DDL,
  // --- views for BI (schema-views.ts: portable SQL shared with PostgreSQL) ---
  ...BI_VIEWS,
];

/**
 * Per-connection scratch tables of the writer (TEMP: invisible to other connections, never
 * persisted). `wh_stage` receives a batch's readings through the Appender.
 */
export const DUCKDB_WRITER_TEMP: readonly string[] = [
  `CREATE OR REPLACE TEMP TABLE wh_stage (
    ord BIGINT NOT NULL,
    spool_offset BIGINT NOT NULL,
    sensor_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE NOT NULL,
    received_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    seq BIGINT
  )`,
  // The batch arrives here as columns (strings as codes into wh_dict; duckdb-columns.ts) and is
  // expanded into wh_stage by one INSERT … SELECT.
  `CREATE OR REPLACE TEMP TABLE wh_stage_cols (
    ord DOUBLE, spool_offset DOUBLE, sensor_code INTEGER, metric_code INTEGER, ts_us DOUBLE,
    value DOUBLE, received_us DOUBLE, source_code INTEGER, seq DOUBLE
  )`,
  `CREATE OR REPLACE TEMP TABLE wh_dict (code INTEGER NOT NULL, text VARCHAR NOT NULL)`,
];

/** The name under which this warehouse keeps its high-water mark in `sink_offsets`. */
export const WAREHOUSE_SINK = 'warehouse';
