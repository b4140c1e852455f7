/**
 * Helpers for aggregate tests: the expected aggregates computed directly from `readings` (in
 * JavaScript, independently of the jobs' SQL), and a comparison with a tolerance only where
 * floating-point summation order may differ (sum, avg).
 */
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/core/sinks.js';

export interface AggRow {
  sensor_id: string;
  metric: string;
  bucket: string;
  count: number;
  min: number;
  max: number;
  avg: number;
  sum: number;
  first: number;
  last: number;
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

async function all(w: Warehouse, sql: string): Promise<Record<string, unknown>[]> {
  return (await w.query(sql, { maxRows: 10_000_000, timeoutMs: 60_000 })).rows;
}

/** Aggregates of every reading, per sensor, metric and minute/hour/day, straight from `readings`. */
export async function expectedFromReadings(w: Warehouse, unit: keyof typeof UNIT_MS): Promise<AggRow[]> {
  const rows = await all(w, 'SELECT sensor_id, metric, ts, value FROM readings');
  const groups = new Map<string, { sensor_id: string; metric: string; bucket: number; values: { ts: number; value: number }[] }>();
  for (const r of rows) {
    const ts = Date.parse(r.ts as string);
    const bucket = Math.floor(ts / UNIT_MS[unit]) * UNIT_MS[unit];
    const key = `${r.sensor_id}\u0000${r.metric}\u0000${bucket}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { sensor_id: r.sensor_id as string, metric: r.metric as string, bucket, values: [] }));
    g.values.push({ ts, value: r.value as number });
  }
  const out: AggRow[] = [];
  for (const g of groups.values()) {
    const v = g.values.sort((a, b) => a.ts - b.ts);
    const sum = v.reduce((s, x) => s + x.value, 0);
    out.push({
      sensor_id: g.sensor_id,
      metric: g.metric,
      bucket: new Date(g.bucket).toISOString(),
      count: v.length,
      min: Math.min(...v.map((x) => x.value)),
      max: Math.max(...v.map((x) => x.value)),
      avg: sum / v.length,
      sum,
      first: v[0].value,
      last: v[v.length - 1].value,
    });
  }
  return sortRows(out);
}

function sortRows(rows: AggRow[]): AggRow[] {
  return rows.sort((a, b) => (a.sensor_id + a.metric + a.bucket < b.sensor_id + b.metric + b.bucket ? -1 : 1));
}

export async function tableRows(w: Warehouse, table: string): Promise<AggRow[]> {
  return (await all(w, `SELECT sensor_id, metric, bucket, count, min, max, avg, sum, first, last FROM ${table} ORDER BY sensor_id, metric, bucket`)) as unknown as AggRow[];
}

function close(a: number, b: number, rel: number): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Same groups, exactly equal count/min/max/first/last; sum and avg equal to `rel` (floating-point
 * sums depend on summation order, which a parallel engine does not fix).
 */
export function assertSameAggregates(actual: AggRow[], expected: AggRow[], what: string, rel = 1e-9): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} rows, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const where = `${what} ${e.sensor_id}/${e.metric}/${e.bucket}`;
    assert.deepEqual(
      { sensor_id: a.sensor_id, metric: a.metric, bucket: a.bucket, count: a.count, min: a.min, max: a.max, first: a.first, last: a.last },
      { sensor_id: e.sensor_id, metric: e.metric, bucket: e.bucket, count: e.count, min: e.min, max: e.max, first: e.first, last: e.last },
      where,
    );
    assert.ok(close(a.sum, e.sum, rel), `${where}: sum ${a.sum} != ${e.sum}`);
    assert.ok(close(a.avg, e.avg, rel), `${where}: avg ${a.avg} != ${e.avg}`);
  }
}
