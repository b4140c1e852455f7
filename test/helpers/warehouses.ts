/**
 * The warehouse engines a test file runs against: DuckDB (a file in a temp dir) always, and
 * PostgreSQL (a fresh schema in database `test`) when it is reachable; see postgres.ts for what
 * happens when it is not (loud skip, or failure under CI=true).
 *
 *   for (const engine of testEngines('aggregate jobs')) describe(engine.name, () => { … engine.open(…) … });
 */
import { join } from 'node:path';
import type { MetricSpec } from '../../src/core/registry.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { PostgresWarehouse } from '../../src/sinks/warehouse/postgres-warehouse.js';
import { TEST_PG, dropSchema, freshSchemaName, requirePostgres } from './postgres.js';
import { tempDir } from './server.js';

export interface OpenedWarehouse {
  warehouse: Warehouse;
  cleanup(): Promise<void>;
}

export interface TestEngine {
  name: 'duckdb' | 'postgres';
  open(metricDefaults: Record<string, MetricSpec>): Promise<OpenedWarehouse>;
}

const duckdb: TestEngine = {
  name: 'duckdb',
  async open(metricDefaults) {
    const tmp = tempDir('sensorpipe-wh-');
    const warehouse = await DuckDbWarehouse.open({ path: join(tmp.dir, 'warehouse.duckdb'), metricDefaults });
    return {
      warehouse,
      async cleanup() {
        await warehouse.close();
        tmp.cleanup();
      },
    };
  },
};

const postgres: TestEngine = {
  name: 'postgres',
  async open(metricDefaults) {
    const schema = freshSchemaName();
    const warehouse = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults });
    return {
      warehouse,
      async cleanup() {
        await warehouse.close();
        await dropSchema(schema);
      },
    };
  },
};

/** DuckDB, plus PostgreSQL when reachable (otherwise a loud skip, or a failing test under CI=true). */
export function testEngines(what: string): TestEngine[] {
  return requirePostgres(`${what} on PostgreSQL`) ? [duckdb, postgres] : [duckdb];
}
