/**
 * Per engine: create the product's warehouse, load the synthetic readings with SQL, build the
 * aggregate tables by running the product's own jobs window by window, answer queries directly
 * (DuckDB node-api on the file, a pg client on the schema), report sizes, and clean up.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import type { JobContext } from '../../src/core/jobs.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { resampleJob } from '../../src/jobs/resample.js';
import { rollup1dJob, rollup1hJob } from '../../src/jobs/rollup.js';
import { alignDown, alignUp, windowsIn } from '../../src/jobs/windows.js';
import { createLogger } from '../../src/runtime/logger.js';
import { openWarehouse } from '../../src/sinks/warehouse/open-warehouse.js';
import type { WarehouseConfig } from '../../src/sinks/warehouse/config.js';
import { chunks, insertChunkSql, registrySql, type Engine, type Layout } from './queries-data.js';

export const PG_BASE = process.env.SENSORPIPE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const PG_DATABASE = 'sensorpipe_bench_queries';
export const PG_SCHEMA = 'sensorpipe';

export interface LoadFigures {
  loadMs: number;
  /** PostgreSQL: primary key and index built after the load, then VACUUM ANALYZE. */
  indexMs: number;
  rowsPerS: number;
}

export interface RollupFigures {
  totalMs: number;
  levels: { level: string; windows: number; rows: number; ms: number }[];
}

export interface EngineSetup {
  engine: Engine;
  /** The server's data directory (DuckDB: holds warehouse.duckdb). */
  dataDir: string;
  warehouseConfig: WarehouseConfig;
  duckdbPath: string;
}

export function setupFor(engine: Engine, workDir: string): EngineSetup {
  const dataDir = join(workDir, engine);
  return {
    engine,
    dataDir,
    duckdbPath: join(dataDir, 'warehouse.duckdb'),
    warehouseConfig:
      engine === 'duckdb'
        ? { kind: 'duckdb', duckdb: { memoryLimit: null, threads: null } }
        : { kind: 'postgres', duckdb: { memoryLimit: null, threads: null }, postgres: { url: `${PG_BASE}/${PG_DATABASE}`, schema: PG_SCHEMA, poolSize: 4 } },
  };
}

const logger = createLogger('warn');

/** A fresh, empty warehouse of the engine (PostgreSQL: the bench database dropped and created again). */
export async function createWarehouse(s: EngineSetup): Promise<Warehouse> {
  await rm(s.dataDir, { recursive: true, force: true });
  await mkdir(s.dataDir, { recursive: true });
  if (s.engine === 'postgres') {
    const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${PG_DATABASE}`);
    } finally {
      await admin.end();
    }
  }
  return openWarehouse({ warehouse: s.warehouseConfig, duckdbPath: s.duckdbPath, metricDefaults: {}, logger });
}

export async function pgClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: `${PG_BASE}/${PG_DATABASE}` });
  await c.connect();
  await c.query(`SET search_path = ${PG_SCHEMA}; SET timezone = 'UTC'`);
  return c;
}

/**
 * Loads the readings in chunks of ~10 M rows (a progress line each). DuckDB: through the product's
 * own job transaction. PostgreSQL: the primary key and the spool-offset index are dropped first and
 * built after the load (same definitions as schema-postgres.ts), which is how a bulk load is done.
 */
export async function loadReadings(s: EngineSetup, w: Warehouse, l: Layout, log: (m: string) => void): Promise<LoadFigures> {
  const parts = chunks(l, 10_000_000);
  const t0 = performance.now();
  let done = 0;
  const progress = (rows: number) => {
    done += rows;
    const s = (performance.now() - t0) / 1000;
    log(`  load ${s.toFixed(0)} s: ${(done / 1e6).toFixed(1)} M of ${(l.readings / 1e6).toFixed(1)} M readings (${Math.round(done / s).toLocaleString('en-US')} readings/s)`);
  };
  if (s.engine === 'duckdb') {
    await w.jobTransaction(async (tx) => {
      for (const sql of registrySql('duckdb', l)) await tx.run(sql);
    });
    for (const [i0, i1] of parts) {
      await w.jobTransaction((tx) => tx.run(insertChunkSql('duckdb', l, i0, i1)));
      progress((i1 - i0) * l.sensors * l.metrics.length);
    }
    const loadMs = performance.now() - t0;
    return { loadMs: Math.round(loadMs), indexMs: 0, rowsPerS: Math.round(l.readings / (loadMs / 1000)) };
  }
  const c = await pgClient();
  try {
    for (const sql of registrySql('postgres', l)) await c.query(sql);
    // Every secondary index as the schema defined it, rebuilt after the load from its own definition.
    const indexes = (await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'readings' AND indexname <> 'readings_pkey'`, [PG_SCHEMA]))
      .rows as { indexname: string; indexdef: string }[];
    await c.query('ALTER TABLE readings DROP CONSTRAINT readings_pkey');
    for (const i of indexes) await c.query(`DROP INDEX ${i.indexname}`);
    for (const [i0, i1] of parts) {
      await c.query(insertChunkSql('postgres', l, i0, i1));
      progress((i1 - i0) * l.sensors * l.metrics.length);
    }
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    log(`  building the primary key (sensor_id, metric, ts) and ${indexes.map((i) => i.indexname).join(', ')}, then VACUUM ANALYZE …`);
    await c.query('ALTER TABLE readings ADD PRIMARY KEY (sensor_id, metric, ts)');
    for (const i of indexes) await c.query(i.indexdef);
    await c.query('VACUUM ANALYZE readings');
    const indexMs = performance.now() - t1;
    return { loadMs: Math.round(loadMs), indexMs: Math.round(indexMs), rowsPerS: Math.round(l.readings / (loadMs / 1000)) };
  } finally {
    await c.end();
  }
}

/** Runs the product's aggregate jobs (resample, rollup_1h, rollup_1d) over every window of the loaded range, in order. */
export async function buildRollups(s: EngineSetup, w: Warehouse, l: Layout, log: (m: string) => void): Promise<RollupFigures> {
  const ctx: JobContext = { warehouse: w, lake: null, clock: { now: () => Date.now() }, logger, dryRun: false };
  const levels: RollupFigures['levels'] = [];
  const t0 = performance.now();
  for (const job of [resampleJob(), rollup1hJob(), rollup1dJob()]) {
    const windows = windowsIn(alignDown(l.startMs, job.windowMs), alignUp(l.endMs, job.windowMs), job.windowMs);
    const t = performance.now();
    let rows = 0;
    let lastLog = t;
    for (const [k, win] of windows.entries()) {
      rows += (await job.run(win, ctx)).rows;
      if (performance.now() - lastLog > 30_000 || k === windows.length - 1) {
        lastLog = performance.now();
        const sec = (lastLog - t) / 1000;
        log(`  ${job.name}: ${k + 1} of ${windows.length} windows, ${rows.toLocaleString('en-US')} rows, ${sec.toFixed(0)} s (${((sec / (k + 1)) * 1000).toFixed(0)} ms/window)`);
      }
    }
    levels.push({ level: job.name, windows: windows.length, rows, ms: Math.round(performance.now() - t) });
  }
  if (s.engine === 'postgres') {
    const t = performance.now();
    const c = await pgClient();
    try {
      await c.query('VACUUM ANALYZE readings_1m, readings_1h, readings_1d');
    } finally {
      await c.end();
    }
    levels.push({ level: 'VACUUM ANALYZE of the aggregate tables', windows: 0, rows: 0, ms: Math.round(performance.now() - t) });
  }
  return { totalMs: Math.round(performance.now() - t0), levels };
}

/** A direct connection as a user would open one: DuckDB node-api on the file (read-only), or a pg client. */
export interface DirectConn {
  query(sql: string): Promise<number>;
  close(): Promise<void>;
}

export async function openDirect(s: EngineSetup): Promise<DirectConn> {
  if (s.engine === 'duckdb') {
    const inst = await DuckDBInstance.create(s.duckdbPath, { access_mode: 'READ_ONLY' });
    const conn: DuckDBConnection = await inst.connect();
    return {
      query: async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS().length,
      close: async () => {
        conn.closeSync();
        inst.closeSync();
      },
    };
  }
  const c = await pgClient();
  return { query: async (sql) => (await c.query(sql)).rows.length, close: () => c.end() };
}

export interface Sizes {
  totalBytes: number;
  tables: Record<string, number>;
}

export async function sizes(s: EngineSetup): Promise<Sizes> {
  if (s.engine === 'duckdb') {
    const f = await stat(s.duckdbPath);
    const wal = await stat(`${s.duckdbPath}.wal`).catch(() => null);
    return { totalBytes: f.size + (wal?.size ?? 0), tables: {} };
  }
  const c = await pgClient();
  try {
    const tables: Record<string, number> = {};
    for (const t of ['readings', 'readings_1m', 'readings_1h', 'readings_1d']) {
      const r = await c.query('SELECT pg_total_relation_size($1) AS b, pg_relation_size($1) AS h', [`${PG_SCHEMA}.${t}`]);
      tables[t] = Number(r.rows[0].b);
      tables[`${t} (heap only)`] = Number(r.rows[0].h);
    }
    const db = await c.query('SELECT pg_database_size(current_database()) AS b');
    return { totalBytes: Number(db.rows[0].b), tables };
  } finally {
    await c.end();
  }
}

export async function dropEngine(s: EngineSetup): Promise<void> {
  await rm(s.dataDir, { recursive: true, force: true });
  if (s.engine === 'postgres') {
    const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}
