/**
 * Loads samples into a warehouse through the normal ingest path: each sample becomes one
 * Sensorpipe JSON message on the sensor's telemetry topic, validated by validateMessage (the
 * registry's min/max quarantine out-of-range values as `out_of_range`), turned into a spool record
 * and written with Warehouse.writeBatch in consecutive spool ranges, exactly as the writer does.
 * Also: a warehouse in a temp dir with a fixed clock, a JobContext, and reading back results.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, JobContext, TimeWindow } from '../../src/core/jobs.js';
import { MemoryRegistry } from '../../src/core/registry.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { silentLogger, type SpoolRecord } from '../../src/core/types.js';
import { validateMessage } from '../../src/pipeline/validate.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { PostgresWarehouse } from '../../src/sinks/warehouse/postgres-warehouse.js';
import { TEST_PG, dropSchema, freshSchemaName } from './postgres.js';
import type { Sample, SensorDef } from './quality-data.js';

export interface TempWarehouse {
  w: Warehouse;
  dir: string;
  cleanup(): Promise<void>;
}

/**
 * A fresh warehouse; `now` is the clock for registration times. DuckDB (a file in a temp dir) by
 * default; a fresh PostgreSQL schema when SENSORPIPE_TEST_WAREHOUSE=postgres (set by the
 * *-postgres.test.ts files that run the same tests against PostgreSQL).
 */
export async function tempWarehouse(now: number): Promise<TempWarehouse> {
  const dir = await mkdtemp(join(tmpdir(), 'sensorpipe-quality-'));
  if (process.env.SENSORPIPE_TEST_WAREHOUSE === 'postgres') {
    const schema = freshSchemaName();
    const w = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: {}, clock: { now: () => now } });
    return {
      w,
      dir,
      async cleanup() {
        await w.close();
        await dropSchema(schema);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const w = await DuckDbWarehouse.open({ path: join(dir, 'w.duckdb'), metricDefaults: {}, clock: { now: () => now } });
  return {
    w,
    dir,
    async cleanup() {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function jobContext(w: Warehouse, now: number, dryRun = false): JobContext {
  return { warehouse: w, lake: null, clock: { now: () => now }, logger: silentLogger, dryRun };
}

export async function registerSensors(w: Warehouse, sensors: readonly SensorDef[]): Promise<void> {
  for (const s of sensors) {
    await w.upsertSensor({ sensorId: s.sensorId, location: s.location, type: null, expectedIntervalS: s.intervalS, metrics: s.metrics });
  }
}

export interface LoadOptions {
  /** receivedAt = ts + this (default 2 s). */
  delayMs?: number;
  source?: string;
  /** Spool offset of the first record (default: one past the warehouse's high-water mark). */
  firstOffset?: number;
  /** Records per writeBatch (default 2000). */
  batch?: number;
}

/** Validates and writes samples in time order. Returns the counts the warehouse reported. */
export async function loadSamples(
  w: Warehouse,
  sensors: readonly SensorDef[],
  samples: readonly Sample[],
  o: LoadOptions = {},
): Promise<{ inserted: number; duplicates: number; quarantined: number; records: number }> {
  const registry = new MemoryRegistry(
    'auto',
    sensors.map((s) => ({ sensorId: s.sensorId, location: s.location, type: null, expectedIntervalS: s.intervalS, metrics: s.metrics })),
  );
  const delay = o.delayMs ?? 2000;
  const source = o.source ?? 'mqtt';
  let offset = o.firstOffset ?? (await w.committedOffset()) + 1;
  if (offset < 1) offset = 1;
  const size = o.batch ?? 2000;
  const totals = { inserted: 0, duplicates: 0, quarantined: 0, records: 0 };
  let records: SpoolRecord[] = [];
  const flush = async () => {
    if (records.length === 0) return;
    const out = await w.writeBatch({ fromOffset: records[0].offset, toOffset: records[records.length - 1].offset, records });
    totals.inserted += out.inserted;
    totals.duplicates += out.duplicates;
    totals.quarantined += out.conflicts.length;
    records = [];
  };
  for (const s of samples) {
    const receivedAt = s.ts + delay;
    const payload = Buffer.from(JSON.stringify({ ts: new Date(s.ts).toISOString(), ...s.values }));
    const message = { source, topic: `sensors/${s.sensorId}/telemetry`, deviceId: `dev-${s.sensorId}`, receivedAt, payload };
    const v = validateMessage(message, { topicSensorId: s.sensorId }, {
      registry,
      config: { maxPayloadBytes: 256 * 1024, maxFutureSkewS: 300, minTimestamp: '2000-01-01T00:00:00Z', unknownSensorPolicy: 'auto', epochUnit: 'auto' },
      metricDefaults: {},
      clock: { now: () => receivedAt },
    });
    totals.quarantined += v.quarantined.length;
    records.push({ kind: 'message', offset: offset++, message, readings: v.readings, quarantined: v.quarantined });
    totals.records++;
    if (records.length >= size) await flush();
  }
  await flush();
  return totals;
}

export interface ResultRow {
  check: string;
  sensor_id: string | null;
  metric: string | null;
  window_start: string;
  window_end: string;
  severity: string;
  observed: number | null;
  expected: number | null;
  detail: string;
  created_at: string;
}

/** quality_results (optionally of some checks), in a stable order. */
export async function results(w: Warehouse, checks?: readonly string[]): Promise<ResultRow[]> {
  const exists = await w.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'quality_results'");
  if (exists.rows[0].n === 0) return [];
  const where = checks ? `WHERE "check" IN (${checks.map((c) => `'${c.replace(/'/g, "''")}'`).join(', ')})` : '';
  const r = await w.query(
    `SELECT "check", sensor_id, metric, window_start, window_end, severity, observed, expected, detail, created_at FROM quality_results ${where}
     ORDER BY window_start, "check", sensor_id NULLS FIRST, metric NULLS FIRST, detail, severity`,
    { maxRows: 10_000_000 },
  );
  return r.rows as unknown as ResultRow[];
}

/** Runs a job over consecutive windows [from, to). */
export async function runWindows(job: Job, ctx: JobContext, from: number, to: number): Promise<number> {
  let rows = 0;
  for (let t = from; t < to; t += job.windowMs) {
    const window: TimeWindow = { start: t, end: t + job.windowMs };
    rows += (await job.run(window, ctx)).rows;
  }
  return rows;
}
