// The Warehouse contract (warehouse.contract.ts) against PostgreSQL, each test in a schema of its
// own; then what is specific to PostgreSQL: the analyst gate by statement type and function,
// JSON-friendly values, several warehouses (processes) writing one schema, reopen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QueryError } from '../../src/core/sinks.js';
import { PostgresWarehouse } from '../../src/sinks/warehouse/postgres-warehouse.js';
import { SpoolSim, T0, batchOf, reading } from '../helpers/batches.js';
import { TEST_PG, dropSchema, freshSchemaName, requirePostgres } from '../helpers/postgres.js';
import { CONTRACT_METRIC_DEFAULTS, runWarehouseContract } from './warehouse.contract.js';

async function openFresh(schema = freshSchemaName()): Promise<{ warehouse: PostgresWarehouse; cleanup(): Promise<void> }> {
  const warehouse = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: CONTRACT_METRIC_DEFAULTS });
  return {
    warehouse,
    async cleanup() {
      await warehouse.close();
      await dropSchema(schema);
    },
  };
}

if (requirePostgres('PostgreSQL warehouse contract')) {
  runWarehouseContract('postgres', () => openFresh(), {
    fileReads: ["SELECT pg_read_file('/etc/passwd')", "SELECT * FROM pg_ls_dir('/')", "SELECT pg_stat_file('/etc/passwd')"],
  });

  describe('PostgreSQL warehouse specifics', () => {
    test('the gate refuses by statement type and by function, and names what it refused', async () => {
      const { warehouse: w, cleanup } = await openFresh();
      try {
        const cases: [string, RegExp][] = [
          ["INSERT INTO sensors (sensor_id, created_at) VALUES ('x', now())", /INSERT/],
          ['CREATE TABLE t (a INT)', /CREATE/],
          ['DROP TABLE readings', /DROP/],
          ["COPY readings TO '/tmp/sensorpipe-copy.csv'", /COPY/],
          ["COPY (SELECT 1) TO PROGRAM 'id'", /COPY/],
          ['SET statement_timeout = 0', /SET/],
          ["DO $$ BEGIN PERFORM 1; END $$", /DO/],
          ['BEGIN', /TRANSACTION/],
          ['EXPLAIN ANALYZE SELECT 1', /EXPLAIN/],
          ['SELECT 1 INTO new_table', /INTO/],
          ['SELECT * FROM readings FOR UPDATE', /FOR UPDATE/],
          ["SELECT pg_read_file('/etc/passwd')", /pg_read_file/],
          ["SELECT * FROM pg_ls_dir('/')", /pg_ls_dir/],
          ["SELECT lo_import('/etc/passwd')", /lo_import/],
          ["SELECT set_config('statement_timeout', '0', false)", /set_config/],
          ["SELECT query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, false, '')", /query_to_xml/],
          ['WITH gone AS (DELETE FROM readings RETURNING *) SELECT count(*) FROM gone', /read-only/],
        ];
        for (const [sql, named] of cases) {
          await assert.rejects(w.query(sql), (e: unknown) => {
            assert.ok(e instanceof QueryError, `${sql}: ${String(e)}`);
            assert.equal(e.code, 'refused', `${sql}: ${e.message}`);
            assert.match(e.message, named, sql);
            return true;
          });
        }
        // Reading the catalog and a trailing semicolon are fine.
        const t = await w.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'readings';");
        assert.deepEqual(t.rows, [{ table_name: 'readings' }]);
      } finally {
        await cleanup();
      }
    });

    test('values are JSON-friendly, as on DuckDB', async () => {
      const { warehouse: w, cleanup } = await openFresh();
      try {
        const r = await w.query(`SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, sum(x) AS total,
          TIMESTAMP '2024-05-01 12:00:00.123456' AS t_us, TIMESTAMP '2024-05-01 12:00:00' AS t,
          TIMESTAMPTZ '2024-05-01 12:00:00+02' AS t_tz, DATE '2024-05-01' AS d, 1.25::NUMERIC(5,2) AS dec,
          ARRAY[1, 2] AS l, 'NaN'::DOUBLE PRECISION AS nan, NULL AS nothing, true AS yes, 1 AS yes
          FROM (VALUES (1::BIGINT), (2::BIGINT)) v(x)`);
        assert.deepEqual(r.columns, ['big', 'small', 'total', 't_us', 't', 't_tz', 'd', 'dec', 'l', 'nan', 'nothing', 'yes', 'yes:1']);
        assert.deepEqual(r.rows[0], {
          big: '9007199254740993',
          small: 42,
          total: 3,
          t_us: '2024-05-01T12:00:00.123456Z',
          t: '2024-05-01T12:00:00.000Z',
          t_tz: '2024-05-01T10:00:00.000Z',
          d: '2024-05-01',
          dec: 1.25,
          l: [1, 2],
          nan: 'NaN',
          nothing: null,
          yes: true,
          'yes:1': 1,
        });
      } finally {
        await cleanup();
      }
    });

    test('two warehouse objects (two processes) writing one schema store every reading once', async () => {
      const schema = freshSchemaName();
      const a = await openFresh(schema);
      const b = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: CONTRACT_METRIC_DEFAULTS });
      try {
        const s = new SpoolSim();
        // The same readings offered by both, batch after batch, concurrently (as a replay on another node would).
        const batches = Array.from({ length: 10 }, (_, i) =>
          batchOf([s.message(Array.from({ length: 40 }, (_, k) => reading(`s${k % 4}`, 'temperature', T0 + (i * 40 + k) * 1000, k)))]),
        );
        const outs = await Promise.all(batches.flatMap((batch) => [a.warehouse.writeBatch(batch), b.writeBatch(batch)]));
        const inserted = outs.reduce((n, o) => n + o.inserted, 0);
        assert.equal((await a.warehouse.query('SELECT count(*) AS n FROM readings')).rows[0].n, 400);
        assert.equal(inserted, 800, 'each batch answers the stored outcome to both callers');
        assert.equal(await b.committedOffset(), 10);
        await b.close();
        // Reopening an existing schema keeps everything.
        const again = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: {} });
        assert.equal((await again.query('SELECT count(*) AS n FROM readings')).rows[0].n, 400);
        await again.close();
      } finally {
        await b.close();
        await a.cleanup();
      }
    });

    test('an unreachable server gives an error that names it, without the password', async () => {
      await assert.rejects(
        PostgresWarehouse.open({ connection: { host: '127.0.0.1', port: 1, user: 'x', password: 'secret-pw', database: 'd' }, schema: 'sp', metricDefaults: {} }),
        (e: unknown) => {
          assert.match(String(e), /cannot connect to the PostgreSQL warehouse at postgres:\/\/127\.0\.0\.1:1\/d/);
          assert.doesNotMatch(String(e), /secret-pw/);
          return true;
        },
      );
    });
  });
}
