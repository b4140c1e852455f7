import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { QueryError } from '../../src/core/sinks.js';
import { DuckDbWarehouse, WarehouseLockedError, WarehouseMissingError } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { SpoolSim, T0, batchOf, reading } from '../helpers/batches.js';
import { CONTRACT_METRIC_DEFAULTS, runWarehouseContract } from './warehouse.contract.js';

async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sensorpipe-wh-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

runWarehouseContract('duckdb', async () => {
  const t = await tempDir();
  const warehouse = await DuckDbWarehouse.open({ path: join(t.dir, 'warehouse.duckdb'), metricDefaults: CONTRACT_METRIC_DEFAULTS });
  return {
    warehouse,
    async cleanup() {
      await warehouse.close();
      await t.remove();
    },
  };
}, { fileReads: ["SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM glob('/*')"] });

/** Holds the file read-write in another process (as a running server would) until killed. */
async function holdInChild(path: string): Promise<{ stop(): Promise<void> }> {
  const api = createRequire(import.meta.url).resolve('@duckdb/node-api');
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const { DuckDBInstance } = require(${JSON.stringify(api)});
       DuckDBInstance.create(${JSON.stringify(path)}).then(async (i) => { await i.connect(); process.stdout.write('held\\n'); });
       process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
    },
  };
}

describe('DuckDB warehouse specifics', () => {
  test('data, registry, accounting and the high-water mark persist across reopen', async () => {
    const t = await tempDir();
    const path = join(t.dir, 'w.duckdb');
    try {
      let w = await DuckDbWarehouse.open({ path, metricDefaults: CONTRACT_METRIC_DEFAULTS });
      const s = new SpoolSim();
      const b = batchOf([s.message([reading('s1', 'temperature', T0, 20), reading('s1', 'temperature', T0, 21)]), s.rejected('auth_failed')]);
      const out = await w.writeBatch(b);
      await w.close();
      await w.close(); // idempotent
      w = await DuckDbWarehouse.open({ path, metricDefaults: CONTRACT_METRIC_DEFAULTS });
      try {
        assert.equal(await w.committedOffset(), 2);
        assert.equal((await w.query('SELECT count(*) AS n FROM readings')).rows[0].n, 1);
        assert.deepEqual(await w.writeBatch(b), out, 'replay after reopen answers the same');
        assert.equal((await w.loadRegistry())[0].sensorId, 's1');
        assert.equal((await w.accounting()).length, 3);
      } finally {
        await w.close();
      }
      // The same object can be reopened after close().
      await w.open();
      assert.equal((await w.query('SELECT count(*) AS n FROM quarantine')).rows[0].n, 1);
      await w.close();
    } finally {
      await t.remove();
    }
  });

  test('readOnly: friendly message while a server holds the file; reads work once it is gone', async () => {
    const t = await tempDir();
    const path = join(t.dir, 'w.duckdb');
    try {
      await assert.rejects(DuckDbWarehouse.open({ path, metricDefaults: {}, readOnly: true }), WarehouseMissingError);
      const w = await DuckDbWarehouse.open({ path, metricDefaults: CONTRACT_METRIC_DEFAULTS });
      const s = new SpoolSim();
      await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0, 20)])]));
      await w.close();

      const holder = await holdInChild(path);
      try {
        for (const readOnly of [true, false]) {
          await assert.rejects(DuckDbWarehouse.open({ path, metricDefaults: {}, readOnly }), (err: unknown) => {
            assert.ok(err instanceof WarehouseLockedError, String(err));
            assert.match(err.message, /locked by another process/);
            assert.match(err.message, /Sensorpipe server is probably running/);
            assert.match(err.message, /sensorpipe query --url/);
            return true;
          });
        }
      } finally {
        await holder.stop();
      }

      const ro = await DuckDbWarehouse.open({ path, metricDefaults: {}, readOnly: true });
      try {
        assert.equal((await ro.query('SELECT value FROM readings')).rows[0].value, 20);
        assert.equal(await ro.committedOffset(), 1);
        await assert.rejects(ro.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0 + 1, 1)])])), /read-only/);
        await assert.rejects(ro.upsertSensor({ sensorId: 'x', location: null, type: null, expectedIntervalS: null, metrics: {} }), /read-only/);
        await assert.rejects(ro.query("SELECT * FROM read_text('/etc/passwd')"), (e: unknown) => e instanceof QueryError && e.code === 'refused');
      } finally {
        await ro.close();
      }
    } finally {
      await t.remove();
    }
  });

  test('the gate refuses by DuckDB statement type and names what it refused; file functions are blocked', async () => {
    const t = await tempDir();
    const w = await DuckDbWarehouse.open({ path: join(t.dir, 'w.duckdb'), metricDefaults: {} });
    try {
      const cases: [string, RegExp][] = [
        ["INSERT INTO sensors (sensor_id, created_at) VALUES ('x', now())", /INSERT/],
        ['CREATE TABLE t (a INT)', /CREATE/],
        ['DROP TABLE readings', /DROP/],
        ["ATTACH '/tmp/x.duckdb' AS x", /ATTACH/],
        ['INSTALL httpfs', /LOAD/],
        ['LOAD httpfs', /LOAD/],
        ['SET threads = 1', /SET/],
        ['RESET threads', /SET/],
        ['PRAGMA enable_profiling', /PRAGMA/],
        ['PRAGMA threads = 1', /SET/],
        ['CHECKPOINT', /CALL/],
        ["USE memory", /SET/],
        ['CREATE MACRO m(a) AS a', /CREATE/],
        ['PREPARE p AS SELECT 1', /PREPARE/],
        ['EXPLAIN SELECT 1', /EXPLAIN/],
        ['BEGIN TRANSACTION', /TRANSACTION/],
        ['CALL checkpoint()', /CALL/],
        ['SELECT 1; SELECT 2', /exactly one statement/],
        ["COPY readings TO '/tmp/sensorpipe-copy.csv'", /file or network access/],
        ["SELECT * FROM read_csv('/etc/passwd')", /file or network access/],
        ["SELECT * FROM glob('/*')", /file or network access/],
        ["SELECT * FROM read_text('/etc/passwd')", /file or network access/],
        ["SELECT * FROM read_blob('/etc/passwd')", /file or network access/],
        ["SELECT * FROM read_parquet('/tmp/*.parquet')", /file or network access/],
        ["SELECT * FROM '/tmp/sensorpipe-x.csv'", /file or network access/],
        ["SELECT * FROM query('DROP TABLE readings')", /.*/],
      ];
      for (const [sql, named] of cases) {
        await assert.rejects(w.query(sql), (e: unknown) => {
          assert.ok(e instanceof QueryError, `${sql}: ${String(e)}`);
          if (!/query\('DROP/.test(sql)) assert.equal(e.code, 'refused', `${sql}: ${e.message}`);
          assert.match(e.message, named, sql);
          return true;
        });
      }
      // The configuration is locked and external access is off for every connection.
      const r = await w.query("SELECT current_setting('enable_external_access') AS ext, current_setting('lock_configuration') AS locked");
      assert.deepEqual(r.rows, [{ ext: false, locked: true }]);
      // DESCRIBE / SHOW are SELECTs in DuckDB and allowed.
      const tables = await w.query('SHOW TABLES');
      assert.ok(tables.rows.some((row) => row.name === 'readings'));
      assert.equal((await w.query('SELECT count(*) AS n FROM readings')).rows[0].n, 0);
    } finally {
      await w.close();
      await t.remove();
    }
  });

  test('allowedDirectories re-opens one directory (e.g. the lake) and nothing else; parent dirs are created', async () => {
    const t = await tempDir();
    const lake = join(t.dir, 'lake');
    await mkdir(lake);
    await writeFile(join(lake, 'a.csv'), 'x,y\n1,2\n');
    await writeFile(join(t.dir, 'secret.csv'), 'x,y\n3,4\n');
    const w = await DuckDbWarehouse.open({ path: join(t.dir, 'nested', 'dir', 'w.duckdb'), metricDefaults: {}, allowedDirectories: [lake + '/'] });
    try {
      assert.deepEqual((await w.query(`SELECT x, y FROM read_csv('${lake}/*.csv')`)).rows, [{ x: 1, y: 2 }]);
      await assert.rejects(w.query(`SELECT * FROM read_csv('${t.dir}/secret.csv')`), (e: unknown) => e instanceof QueryError && e.code === 'refused');
      await assert.rejects(w.query(`SELECT * FROM read_csv('${lake}/../secret.csv')`), (e: unknown) => e instanceof QueryError && e.code === 'refused');
    } finally {
      await w.close();
      await t.remove();
    }
  });

  test('values are JSON-friendly', async () => {
    const t = await tempDir();
    const w = await DuckDbWarehouse.open({ path: join(t.dir, 'w.duckdb'), metricDefaults: {} });
    try {
      const r = await w.query(`SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 170141183460469231731687303715884105727::HUGEINT AS huge,
        TIMESTAMP '2024-05-01 12:00:00.123456' AS t_us, TIMESTAMP '2024-05-01 12:00:00' AS t,
        TIMESTAMPTZ '2024-05-01 12:00:00+02' AS t_tz, DATE '2024-05-01' AS d, 1.25::DECIMAL(5,2) AS dec,
        [1, 2] AS l, {'a': 1} AS st, 'NaN'::DOUBLE AS nan, NULL AS nothing, true AS yes`);
      assert.deepEqual(r.rows[0], {
        big: '9007199254740993',
        small: 42,
        huge: '170141183460469231731687303715884105727',
        t_us: '2024-05-01T12:00:00.123456Z',
        t: '2024-05-01T12:00:00.000Z',
        t_tz: '2024-05-01T10:00:00.000Z',
        d: '2024-05-01',
        dec: 1.25,
        l: [1, 2],
        st: { a: 1 },
        nan: 'NaN',
        nothing: null,
        yes: true,
      });
      JSON.stringify(r); // must not throw on BigInt
    } finally {
      await w.close();
      await t.remove();
    }
  });

  test('writes and queries may be issued concurrently', async () => {
    const t = await tempDir();
    const w = await DuckDbWarehouse.open({ path: join(t.dir, 'w.duckdb'), metricDefaults: CONTRACT_METRIC_DEFAULTS });
    try {
      const s = new SpoolSim();
      const batches = Array.from({ length: 20 }, (_, i) =>
        batchOf([s.message(Array.from({ length: 50 }, (_, k) => reading(`s${k % 5}`, 'temperature', T0 + (i * 50 + k) * 1000, k)))]),
      );
      const writes = batches.map((b) => w.writeBatch(b));
      const reads = Array.from({ length: 20 }, () => w.query('SELECT count(*) AS n FROM readings'));
      const side = [w.accounting(), w.loadRegistry(), w.committedOffset()];
      const outs = await Promise.all(writes);
      await Promise.all([...reads, ...side]);
      assert.equal(outs.reduce((a, o) => a + o.inserted, 0), 1000);
      assert.equal((await w.query('SELECT count(*) AS n FROM readings')).rows[0].n, 1000);
      assert.equal(await w.committedOffset(), 20);
    } finally {
      await w.close();
      await t.remove();
    }
  });
});

describe('DuckDB resource limits (config warehouse.duckdb)', () => {
  test('memoryLimit and threads reach the instance; unset leaves DuckDB its defaults', async () => {
    const t = await tempDir();
    try {
      const limited = await DuckDbWarehouse.open({ path: join(t.dir, 'a.duckdb'), metricDefaults: CONTRACT_METRIC_DEFAULTS, limits: { memoryLimit: '96MB', threads: 1 } });
      const r = await limited.query("SELECT current_setting('memory_limit') AS m, current_setting('threads') AS th");
      await limited.close();
      assert.deepEqual(r.rows, [{ m: '91.5 MiB', th: 1 }], 'DuckDB reports 96 MB as 91.5 MiB');
      const free = await DuckDbWarehouse.open({ path: join(t.dir, 'b.duckdb'), metricDefaults: CONTRACT_METRIC_DEFAULTS });
      const d = await free.query("SELECT current_setting('memory_limit') AS m");
      await free.close();
      assert.notEqual((d.rows[0] as { m: string }).m, '91.5 MiB');
    } finally {
      await t.remove();
    }
  });
});

describe('DuckDB writer memory', () => {
  test("the writer's scratch tables do not keep the memory of earlier batches", async () => {
    const t = await tempDir();
    const w = await DuckDbWarehouse.open({ path: join(t.dir, 'm.duckdb'), metricDefaults: CONTRACT_METRIC_DEFAULTS });
    try {
      const s = new SpoolSim();
      const inMemoryMb = async () => {
        const r = await w.query("SELECT coalesce(sum(memory_usage_bytes), 0) / 1048576 AS mb FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'");
        return Number((r.rows[0] as { mb: number }).mb);
      };
      const batch = (k: number) =>
        batchOf(Array.from({ length: 2000 }, (_, i) => s.message(['temperature', 'humidity', 'pressure', 'battery'].map((m) => reading(`s-${i % 500}`, m, T0 + (k * 2000 + i) * 1000, i)))));
      for (let k = 0; k < 5; k++) await w.writeBatch(batch(k));
      const after5 = await inMemoryMb();
      for (let k = 5; k < 35; k++) await w.writeBatch(batch(k));
      const after35 = await inMemoryMb();
      // Deleting the rows of a TEMP table kept their memory: +1 MB or so per batch of 8,000 readings.
      assert.ok(after35 <= after5 + 4, `scratch tables held ${after5.toFixed(1)} MB after 5 batches and ${after35.toFixed(1)} MB after 35`);
    } finally {
      await w.close();
      await t.remove();
    }
  });
});
