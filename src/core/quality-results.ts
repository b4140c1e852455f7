/**
 * The `quality_results` table is a contract between the quality checks (which write it), the
 * warehouse schema (which creates it so views and the API work before any check ran) and readers.
 * Portable DDL: DuckDB and PostgreSQL accept it as is.
 */
export const QUALITY_RESULTS_DDL = `CREATE TABLE IF NOT EXISTS quality_results (
  "check" VARCHAR NOT NULL,
  sensor_id VARCHAR,
  metric VARCHAR,
  window_start TIMESTAMP NOT NULL,
  window_end TIMESTAMP NOT NULL,
  severity VARCHAR NOT NULL,
  observed DOUBLE PRECISION,
  expected DOUBLE PRECISION,
  detail VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL
)`;
