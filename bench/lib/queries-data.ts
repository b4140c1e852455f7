/**
 * The synthetic fleet of the query benchmark, generated inside the warehouse by SQL (the ingest
 * path would take hours for 100 M readings): N sensors `q-0000`…, a few metrics, one reading per
 * sensor and metric every minute from a fixed start, values a deterministic function of (sensor,
 * metric, minute) that both engines compute identically. Rows are inserted in time order, as the
 * pipeline writes them (every sensor's reading of minute i before minute i + 1).
 */
export type Engine = 'duckdb' | 'postgres';

export const START_MS = Date.UTC(2025, 0, 1);
export const ALL_METRICS = ['temperature', 'humidity', 'pressure', 'battery'] as const;

export interface Layout {
  readings: number;
  sensors: number;
  metrics: string[];
  /** Readings per (sensor, metric): one per minute from START_MS. */
  minutes: number;
  startMs: number;
  endMs: number;
}

/** Picks the most metrics (<= 4) that make readings / (sensors × metrics) a whole number of minutes, so the total is exact. */
export function layoutFor(readings: number, sensors: number): Layout {
  for (let m = ALL_METRICS.length; m >= 1; m--) {
    if (readings % (sensors * m) === 0) {
      const minutes = readings / (sensors * m);
      return { readings, sensors, metrics: ALL_METRICS.slice(0, m), minutes, startMs: START_MS, endMs: START_MS + minutes * 60_000 };
    }
  }
  throw new Error(`--readings ${readings} is not a multiple of --sensors ${sensors}: give a total that divides evenly`);
}

export const sensorId = (s: number) => `q-${String(s).padStart(4, '0')}`;

const tsLit = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;

/** INSERT … SELECT of the readings of minutes [i0, i1) for every sensor and metric. */
export function insertChunkSql(engine: Engine, l: Layout, i0: number, i1: number): string {
  const series = (lo: number, hi: number, alias: string) =>
    engine === 'duckdb'
      ? `range(CAST(${lo} AS BIGINT), CAST(${hi} AS BIGINT)) ${alias}`
      : `generate_series(CAST(${lo} AS BIGINT), CAST(${hi - 1} AS BIGINT)) ${alias}`;
  const metrics = l.metrics.map((m, k) => `('${m}', ${k})`).join(', ');
  const ts = `${tsLit(l.startMs)} + i * INTERVAL '1 minute'`;
  return `INSERT INTO readings (sensor_id, metric, ts, value, received_at, source, seq, spool_offset)
    SELECT 'q-' || lpad(CAST(s AS VARCHAR), 4, '0'), m, ${ts},
      CAST(20 + 10 * sin(i / 229.0 + s) + k * 100 + ((s * 7919 + i * 104729 + 31 * k) % 1000) / 100.0 AS DOUBLE PRECISION),
      ${ts} + INTERVAL '2 second', 'mqtt', i, i
    FROM ${series(i0, i1, 't(i)')}, ${series(0, l.sensors, 'u(s)')}, (VALUES ${metrics}) mm(m, k)
    ORDER BY i, s, k`;
}

/** The registry rows the product expects for the fleet (sensors + sensor_metrics), as portable SQL. */
export function registrySql(engine: Engine, l: Layout): string[] {
  const series = engine === 'duckdb' ? `range(0, ${l.sensors}) u(s)` : `generate_series(0, ${l.sensors - 1}) u(s)`;
  const units: Record<string, string> = { temperature: 'C', humidity: '%', pressure: 'hPa', battery: 'V' };
  const metrics = l.metrics.map((m) => `('${m}', '${units[m]}')`).join(', ');
  return [
    `INSERT INTO sensors (sensor_id, location, type, expected_interval_s, created_at)
      SELECT 'q-' || lpad(CAST(s AS VARCHAR), 4, '0'), 'site-' || CAST(s % 10 AS VARCHAR), 'bench', 60, ${tsLit(l.startMs)} FROM ${series}`,
    `INSERT INTO sensor_metrics (sensor_id, metric, unit, min_value, max_value)
      SELECT 'q-' || lpad(CAST(s AS VARCHAR), 4, '0'), m, unit, NULL, NULL FROM ${series}, (VALUES ${metrics}) mm(m, unit)`,
  ];
}

/** Minute ranges of about `rowsPerChunk` readings each. */
export function chunks(l: Layout, rowsPerChunk: number): [number, number][] {
  const perMinute = l.sensors * l.metrics.length;
  const step = Math.max(1, Math.floor(rowsPerChunk / perMinute));
  const out: [number, number][] = [];
  for (let i = 0; i < l.minutes; i += step) out.push([i, Math.min(l.minutes, i + step)]);
  return out;
}

export { tsLit };
