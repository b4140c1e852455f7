import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFeatures, parseDuration, sourceWindow, type FeatureSpec, type QualityWindow } from '../../src/export/features.js';
import type { ReadingRow } from '../../src/export/readings-pages.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1);

async function* pages(rows: ReadingRow[], size = 2): AsyncGenerator<ReadingRow[]> {
  const sorted = [...rows].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  for (let i = 0; i < sorted.length; i += size) yield sorted.slice(i, i + size);
}
const r = (sensor: string, metric: string, min: number, value: number): ReadingRow => ({ sensor_id: sensor, metric, ts: new Date(T0 + min * MIN).toISOString(), value });

async function table(spec: FeatureSpec, rows: ReadingRow[]) {
  const out: Record<string, unknown>[] = [];
  const stats = await buildFeatures(spec, pages(rows), async (b) => void out.push(...b), 2);
  return { out, stats };
}

const base: FeatureSpec = { sensors: ['a'], metrics: ['t'], from: T0 + 10 * MIN, to: T0 + 16 * MIN, resolutionMs: MIN, fill: 'none', maxGapMs: 2 * MIN };
// readings at 8, 10:30, 13, 16 (16 is after the last grid time 15)
const data = [r('a', 't', 8, 8), r('a', 't', 10.5, 10), r('a', 't', 13, 13), r('a', 't', 16, 16), r('b', 't', 12, 99), r('a', 'h', 12, 50)];

test('fill none: a value only when a reading fell in (t - step, t]; gap since the last reading', async () => {
  const { out, stats } = await table(base, data);
  assert.deepEqual(out.map((x) => x.ts), [10, 11, 12, 13, 14, 15].map((m) => T0 + m * MIN));
  assert.deepEqual(out.map((x) => x.a__t), [null, 10, null, 13, null, null]);
  assert.deepEqual(out.map((x) => x.a__t__flag), ['missing', 'observed', 'missing', 'observed', 'missing', 'missing']);
  assert.deepEqual(out.map((x) => x.a__t__gap_s), [120, 30, 90, 0, 60, 120]);
  assert.deepEqual(stats.perColumn.a__t, { readings: 4, observed: 2, filled: 0, interpolated: 0, missing: 4 });
});

test('fill ffill: last reading at or before t while at most max-gap old; never a later reading (point in time)', async () => {
  const { out } = await table({ ...base, fill: 'ffill' }, data);
  assert.deepEqual(out.map((x) => x.a__t), [8, 10, 10, 13, 13, 13]);
  assert.deepEqual(out.map((x) => x.a__t__flag), ['filled', 'observed', 'filled', 'observed', 'filled', 'filled']);
  const short = await table({ ...base, fill: 'ffill', maxGapMs: MIN }, data);
  assert.deepEqual(short.out.map((x) => x.a__t), [null, 10, null, 13, 13, null]);
  // A reading arriving later in time never changes an earlier row: drop everything after minute 12.
  const cut = await table({ ...base, fill: 'ffill' }, data.filter((x) => Date.parse(x.ts) <= T0 + 12 * MIN));
  assert.deepEqual(cut.out.slice(0, 3), (await table({ ...base, fill: 'ffill' }, data)).out.slice(0, 3));
});

test('fill linear: interpolates between neighbours at most max-gap apart (it looks ahead)', async () => {
  const { out } = await table({ ...base, fill: 'linear', maxGapMs: 3 * MIN }, data);
  // 10: between 8 (8) and 10.5 (10) -> 9.6; 11, 12: between 10.5 and 13; 13 observed; 14, 15: between 13 and 16
  assert.deepEqual(out.map((x) => Math.round((x.a__t as number) * 100) / 100), [9.6, 10.6, 11.8, 13, 14, 15]);
  assert.deepEqual(out.map((x) => x.a__t__flag), ['interpolated', 'interpolated', 'interpolated', 'observed', 'interpolated', 'interpolated']);
  const tight = await table({ ...base, fill: 'linear', maxGapMs: 2 * MIN }, data);
  assert.deepEqual(tight.out.map((x) => x.a__t__flag), ['missing', 'missing', 'missing', 'observed', 'missing', 'missing']);
});

test('several sensors and metrics: one column per pair, series not asked for are ignored', async () => {
  const { out, stats } = await table({ ...base, sensors: ['a', 'b'], metrics: ['t', 'h'], fill: 'ffill', maxGapMs: 10 * MIN }, data);
  assert.deepEqual(Object.keys(stats.perColumn), ['a__t', 'a__h', 'b__t', 'b__h']);
  assert.equal(out[2].b__t, 99);
  assert.equal(out[2].a__h, 50);
  assert.equal(out[1].b__t, null);
  assert.equal(out[5].b__h__flag, 'missing');
});

test('source window and durations', () => {
  assert.deepEqual(sourceWindow({ ...base, fill: 'ffill' }), { from: T0 + 8 * MIN, to: T0 + 16 * MIN });
  assert.deepEqual(sourceWindow({ ...base, fill: 'linear' }), { from: T0 + 8 * MIN, to: T0 + 18 * MIN });
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.ok(Number.isNaN(parseDuration('soon')));
});

test('quality column: the highest severity of findings whose window contains t', async () => {
  const windows = new Map<string, QualityWindow[]>([
    [
      'a__t',
      [
        { start: T0 + 11 * MIN, end: T0 + 14 * MIN, severity: 'warning' },
        { start: T0 + 12 * MIN, end: T0 + 13 * MIN, severity: 'critical' },
        { start: T0 + 13 * MIN, end: T0 + 15 * MIN, severity: 'info' },
      ],
    ],
  ]);
  const out: Record<string, unknown>[] = [];
  await buildFeatures(base, pages(data), async (b) => void out.push(...b), 100, windows);
  assert.deepEqual(out.map((x) => x.a__t__quality), [null, 'warning', 'critical', 'warning', 'info', null]);
});
