/**
 * The few SQL expressions that differ between the warehouses (`Warehouse.dialect`). Everything
 * else the jobs, quality checks, views and routes write is portable SQL that DuckDB and
 * PostgreSQL both accept (see src/jobs/sql.ts for the rules), so only what cannot be written
 * portably *and* fast belongs here. Each function returns an SQL expression built from the
 * given expressions (column names or other trusted SQL, never user text).
 */
export interface SqlDialect {
  /** Aggregate: `value` of the row with the smallest `by` in the group. */
  firstBy(value: string, by: string): string;
  /** Aggregate: `value` of the row with the largest `by` in the group. */
  lastBy(value: string, by: string): string;
}

export const DUCKDB_DIALECT: SqlDialect = {
  firstBy: (value, by) => `arg_min(${value}, ${by})`,
  lastBy: (value, by) => `arg_max(${value}, ${by})`,
};

/** PostgreSQL has no arg_min/arg_max: the first element of the group's values ordered by `by`. */
export const POSTGRES_DIALECT: SqlDialect = {
  firstBy: (value, by) => `(array_agg(${value} ORDER BY ${by}))[1]`,
  lastBy: (value, by) => `(array_agg(${value} ORDER BY ${by} DESC))[1]`,
};
