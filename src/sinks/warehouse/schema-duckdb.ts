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
 *   conflicts from the `warehouse` rows of their spool range.
 * - `ingest_counts`: the accounting identity per hour of `received_at`, source, outcome, reason:
 *   received = accepted + quarantined + rejected. `duplicate` rows are a SUBSET of `accepted`
 *   (an exact repeat is accepted, counted, and not stored twice) and must not be added again.
 *   `reason` is '' for accepted/duplicate.
 * - `sink_offsets`: high-water mark of the spool offsets each sink has durably written.
 */
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
];

/**
 * Per-connection scratch tables of the writer (TEMP: invisible to other connections, never
 * persisted). `wh_stage` receives a batch's readings through the Appender.
 */
export const DUCKDB_WRITER_TEMP: readonly string[] = [
  `CREATE TEMP TABLE IF NOT EXISTS wh_stage (
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
];

/** The name under which this warehouse keeps its high-water mark in `sink_offsets`. */
export const WAREHOUSE_SINK = 'warehouse';
