/**
 * The queries of the benchmark, as a BI user would write them against the logical schema, per
 * engine where the natural form differs (last value: DuckDB has arg_max; PostgreSQL answers it
 * fastest with one index lookup per registered pair). The whole-fleet hourly rollup returns one
 * row per (sensor, metric, hour) — 1.7 M rows at 100 M readings, more than the API's row cap — so
 * it is wrapped in an outer count/sum that uses every aggregate: the engine computes every group,
 * only the totals travel.
 */
import type { Engine, Layout } from './queries-data.js';
import { sensorId, tsLit } from './queries-data.js';

export type QueryId = 'hourly_raw' | 'hourly_rollup' | 'day_1m_raw' | 'day_1m_rollup' | 'last_raw' | 'last_rollup';

export interface QuerySpec {
  id: QueryId;
  label: string;
  source: 'raw' | 'rollup';
  sql: string;
  /** The API request a user would make for the same answer. */
  api: { method: 'GET'; path: string } | { method: 'POST'; path: '/v1/sql'; body: { sql: string } };
  apiNote: string;
}

const wrapHourly = (inner: string) => `SELECT count(*) AS groups, sum(n) AS readings, sum(lo + hi + mean) AS checksum FROM (${inner}) h`;

/** The day of the one-sensor query: the second day when the data has one in full, else the first (cut at the end of the data). */
export function dayOf(l: Layout): { from: number; to: number; sensor: string } {
  const DAY = 86_400_000;
  const from = l.endMs - l.startMs >= 2 * DAY ? l.startMs + DAY : l.startMs;
  return { from, to: Math.min(from + DAY, l.endMs), sensor: sensorId(Math.floor(l.sensors / 2)) };
}

export function querySpecs(engine: Engine, l: Layout): QuerySpec[] {
  const day = dayOf(l);
  const inDay = (col: string) => `sensor_id = '${day.sensor}' AND ${col} >= ${tsLit(day.from)} AND ${col} < ${tsLit(day.to)}`;
  const iso = (ms: number) => new Date(ms).toISOString();
  const readingsUrl = (resolution: string) => `/v1/readings?sensor=${day.sensor}&from=${iso(day.from)}&to=${iso(day.to)}&resolution=${resolution}`;
  const sqlApi = (sql: string) => ({ method: 'POST' as const, path: '/v1/sql' as const, body: { sql } });
  const hourlyRaw = wrapHourly(
    `SELECT sensor_id, metric, date_trunc('hour', ts) AS hour, count(*) AS n, min(value) AS lo, max(value) AS hi, avg(value) AS mean
     FROM readings GROUP BY sensor_id, metric, date_trunc('hour', ts)`,
  );
  const hourlyRollup = wrapHourly(`SELECT sensor_id, metric, bucket AS hour, count AS n, min AS lo, max AS hi, avg AS mean FROM readings_1h`);
  const dayRaw = `SELECT metric, date_trunc('minute', ts) AS minute, count(*) AS n, min(value) AS lo, max(value) AS hi, avg(value) AS mean
     FROM readings WHERE ${inDay('ts')} GROUP BY metric, date_trunc('minute', ts) ORDER BY metric, minute`;
  const dayRollup = `SELECT metric, bucket AS minute, count AS n, min AS lo, max AS hi, avg AS mean FROM readings_1m WHERE ${inDay('bucket')} ORDER BY metric, bucket`;
  const lastRaw =
    engine === 'duckdb'
      ? 'SELECT sensor_id, metric, max(ts) AS ts, arg_max(value, ts) AS value FROM readings GROUP BY sensor_id, metric ORDER BY sensor_id, metric'
      : `SELECT p.sensor_id, p.metric, r.ts, r.value FROM sensor_metrics p
         CROSS JOIN LATERAL (SELECT ts, value FROM readings x WHERE x.sensor_id = p.sensor_id AND x.metric = p.metric ORDER BY ts DESC LIMIT 1) r
         ORDER BY p.sensor_id, p.metric`;
  const lastRollup =
    engine === 'duckdb'
      ? 'SELECT sensor_id, metric, max(bucket) AS hour, arg_max(last, bucket) AS value FROM readings_1h GROUP BY sensor_id, metric ORDER BY sensor_id, metric'
      : `SELECT p.sensor_id, p.metric, r.hour, r.value FROM sensor_metrics p
         CROSS JOIN LATERAL (SELECT bucket AS hour, last AS value FROM readings_1h x WHERE x.sensor_id = p.sensor_id AND x.metric = p.metric ORDER BY bucket DESC LIMIT 1) r
         ORDER BY p.sensor_id, p.metric`;
  return [
    { id: 'hourly_raw', label: 'hourly rollup over everything, from raw readings', source: 'raw', sql: hourlyRaw, api: sqlApi(hourlyRaw), apiNote: 'POST /v1/sql' },
    { id: 'hourly_rollup', label: 'hourly rollup over everything, from readings_1h', source: 'rollup', sql: hourlyRollup, api: sqlApi(hourlyRollup), apiNote: 'POST /v1/sql' },
    {
      id: 'day_1m_raw',
      label: `one sensor, one day at 1-minute resolution, from raw readings`,
      source: 'raw',
      sql: dayRaw,
      api: { method: 'GET', path: readingsUrl('raw') },
      apiNote: 'GET /v1/readings resolution=raw (the readings are 1 min apart: 1 point per minute and metric)',
    },
    {
      id: 'day_1m_rollup',
      label: 'one sensor, one day at 1-minute resolution, from readings_1m',
      source: 'rollup',
      sql: dayRollup,
      api: { method: 'GET', path: readingsUrl('1m') },
      apiNote: 'GET /v1/readings resolution=1m',
    },
    { id: 'last_raw', label: 'last value per sensor and metric, from raw readings', source: 'raw', sql: lastRaw, api: sqlApi(lastRaw), apiNote: 'POST /v1/sql' },
    {
      id: 'last_rollup',
      label: 'last value per sensor and metric, from readings_1h (as fresh as the last hourly rollup)',
      source: 'rollup',
      sql: lastRollup,
      api: sqlApi(lastRollup),
      apiNote: 'POST /v1/sql',
    },
  ];
}
