/**
 * Picks the warehouse engine from `warehouse.kind`: the DuckDB file in the data directory
 * (default), or the PostgreSQL server of `warehouse.postgres`. The PostgreSQL driver is loaded
 * only when it is used, and the DuckDB binding only when that is.
 */
import type { MetricSpec } from '../../core/registry.js';
import type { Warehouse } from '../../core/sinks.js';
import type { Clock, Logger } from '../../core/types.js';
import type { WarehouseConfig } from './config.js';

export interface OpenWarehouseOptions {
  /** The config section; `duckdb` limits may be left out (DuckDB's defaults). */
  warehouse: Omit<WarehouseConfig, 'duckdb'> & { duckdb?: WarehouseConfig['duckdb'] };
  /** The DuckDB file (used when kind is duckdb). */
  duckdbPath: string;
  metricDefaults: Record<string, MetricSpec>;
  logger: Logger;
  clock?: Clock;
  /** Only read (the CLI without a server): DuckDB opens the file read-only, PostgreSQL skips schema setup. */
  readOnly?: boolean;
}

export async function openWarehouse(o: OpenWarehouseOptions): Promise<Warehouse> {
  if (o.warehouse.kind === 'postgres') {
    const { PostgresWarehouse } = await import('./postgres-warehouse.js');
    const { schema = 'sensorpipe', poolSize, ...connection } = o.warehouse.postgres ?? {};
    return PostgresWarehouse.open({ connection, schema, poolSize, metricDefaults: o.metricDefaults, logger: o.logger, clock: o.clock, setup: !o.readOnly });
  }
  const { DuckDbWarehouse } = await import('./duckdb-warehouse.js');
  return DuckDbWarehouse.open({ path: o.duckdbPath, metricDefaults: o.metricDefaults, logger: o.logger, clock: o.clock, readOnly: o.readOnly, limits: o.warehouse.duckdb });
}
