/**
 * Quality jobs on small synthetic data with injected faults, in real DuckDB files. Part 2: drift,
 * group consistency, rules between metrics, quarantine and duplicate rates.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MetricSpec } from '../../src/core/registry.js';
import { defaultQualityConfig } from '../../src/quality/config.js';
import { driftJob } from '../../src/quality/checks/drift.js';
import { groupJob } from '../../src/quality/checks/group.js';
import { ingestJob } from '../../src/quality/checks/ingest.js';
import { ruleJob } from '../../src/quality/checks/rules.js';
import { HOUR, MINUTE, SpoolSim, T0, batchOf, quarantineItem, reading } from '../helpers/batches.js';
import { gauss, seededRandom, type Sample, type SensorDef } from '../helpers/quality-data.js';
import { jobContext, loadSamples, registerSensors, results, tempWarehouse } from '../helpers/quality-load.js';

const W = { start: T0, end: T0 + HOUR };
const NOW = T0 + 2 * HOUR;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
const OPEN: MetricSpec = { unit: null, min: null, max: null };

function def(sensorId: string, metrics: string[], location: string | null = null, intervalS = 60): SensorDef {
  return { sensorId, location, intervalS, metrics: Object.fromEntries(metrics.map((m) => [m, OPEN])) };
}

function every(stepMs: number, sensorId: string, from: number, to: number, values: (ts: number, i: number) => Record<string, number>): Sample[] {
  const out: Sample[] = [];
  for (let ts = from, i = 0; ts < to; ts += stepMs, i++) out.push({ sensorId, ts, values: values(ts, i) });
  return out;
}

describe('drift', () => {
  test('the last day against a week ending a day before it: +5 is a warning, +12 critical, no shift nothing; short baselines skipped', async () => {
    const t = await tempWarehouse(T0 - 30 * DAY);
    try {
      await registerSensors(t.w, [def('s', ['m5', 'm12', 'm0'], null, 600), def('young', ['m12'], null, 600)]);
      const rnd = seededRandom(1);
      const recentFrom = W.end - DAY;
      const base = (ts: number) => 20 + Math.sin((ts / DAY) * 2 * Math.PI) + 0.1 * gauss(rnd);
      const samples = [
        ...every(10 * MINUTE, 's', W.end - 8 * DAY - HOUR, W.end, (ts) => {
          const shift = ts >= recentFrom ? 1 : 0;
          return { m5: base(ts) + 5 * shift, m12: base(ts) + 12 * shift, m0: base(ts) };
        }),
        ...every(10 * MINUTE, 'young', W.end - 3 * DAY, W.end, (ts) => ({ m12: base(ts) + (ts >= recentFrom ? 12 : 0) })),
      ].sort((a, b) => a.ts - b.ts);
      await loadSamples(t.w, [], samples);
      const job = driftJob(defaultQualityConfig());
      const ctx = jobContext(t.w, NOW);
      await job.run(W, ctx);
      await job.run(W, ctx);
      const rows = await results(t.w);
      assert.deepEqual(
        rows.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.window_end, r.severity]),
        [
          ['drift', 's', 'm12', iso(W.start), iso(W.end), 'critical'],
          ['drift', 's', 'm5', iso(W.start), iso(W.end), 'warning'],
        ],
      );
      const m5 = rows[1];
      assert.ok(Math.abs(m5.observed! - 25) < 0.3 && Math.abs(m5.expected! - 20) < 0.3, `${m5.observed} ${m5.expected}`);
      assert.match(m5.detail, /^median 2\d\.\d+ over 2024-04-30T13:00:00\.000Z \.\. 2024-05-01T13:00:00\.000Z vs (19|20)\.\d+ over 2024-04-22T13:00:00\.000Z \.\. 2024-04-29T13:00:00\.000Z: shift [45]\.\d+ = 4\.\d+ robust sigmas \(sigma 1\.\d+ = max\(1\.4826 x MAD, \(P90 - P10\) \/ 2\.563\) of the baseline/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('group consistency', () => {
  test('members of a location and of configured groups: the departing ones are named, with severity by the tolerance', async () => {
    const t = await tempWarehouse(T0 - DAY);
    try {
      const lab = ['g1', 'g2', 'g3', 'g4', 'g5'];
      await registerSensors(t.w, [
        ...lab.map((id) => def(id, ['temperature'], 'lab')),
        def('x1', ['temperature']),
        def('x2', ['temperature']),
        ...['t1', 't2', 't3'].map((id) => def(id, ['temperature', 'humidity'])),
      ]);
      const rnd = seededRandom(2);
      const truth = (ts: number) => 21 + 0.5 * Math.sin(ts / (3 * HOUR));
      const offsets: Record<string, number> = { g2: 0.8, g4: 1.5, x2: 3, t3: 2 };
      const samples: Sample[] = [];
      for (const id of [...lab, 'x1', 'x2', 't1', 't2', 't3']) {
        samples.push(
          ...every(MINUTE, id, W.start, W.end, (ts) => {
            const v = { temperature: truth(ts) + 0.05 * gauss(rnd) + (offsets[id] ?? 0) };
            return id.startsWith('t') ? { ...v, humidity: 40 + 0.2 * gauss(rnd) + (offsets[id] ?? 0) } : v;
          }),
        );
      }
      await loadSamples(t.w, [], samples.sort((a, b) => a.ts - b.ts));
      const cfg = defaultQualityConfig({
        group: {
          absTolerance: { temperature: 0.5, humidity: 0.5 },
          groups: [
            { name: 'pair', sensors: ['x1', 'x2'] },
            { name: 'trio', sensors: ['t1', 't2', 't3'], metrics: ['humidity'] },
          ],
        },
      });
      const job = groupJob(cfg);
      const ctx = jobContext(t.w, NOW);
      await job.run(W, ctx);
      await job.run(W, ctx);
      const rows = await results(t.w);
      assert.deepEqual(
        rows.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.window_end, r.severity]),
        [
          ['group_consistency', 'g2', 'temperature', iso(W.start), iso(W.end), 'warning'],
          ['group_consistency', 'g4', 'temperature', iso(W.start), iso(W.end), 'critical'],
          ['group_consistency', 't3', 'humidity', iso(W.start), iso(W.end), 'critical'],
        ],
      );
      assert.match(rows[0].detail, /^departs from the median of group location lab \(5 members reporting\) by 0\.7\d+ \(median over 60 buckets of 60 s\); tolerance 0\.5 = max\(3 x pooled sigma 0\.\d+, absolute 0\.5\)$/);
      assert.match(rows[2].detail, /group trio \(3 members reporting\)/);
      assert.ok(Math.abs(rows[1].observed! - rows[1].expected! - 1.5) < 0.1);
    } finally {
      await t.cleanup();
    }
  });
});

describe('rules between metrics', () => {
  test('per sensor at the same timestamp and per location in time buckets; severity by the share violated', async () => {
    const t = await tempWarehouse(T0 - DAY);
    try {
      await registerSensors(t.w, [
        def('x', ['temperature', 'dew_point', 'humidity']),
        def('y', ['temperature', 'dew_point']),
        def('l1', ['temperature'], 'site'),
        def('l2', ['dew_point'], 'site'),
      ]);
      const m = (ts: number) => (ts - W.start) / MINUTE;
      const samples = [
        ...every(MINUTE, 'x', W.start, W.end, (ts) => ({ temperature: 20, dew_point: [5, 6, 7].includes(m(ts)) ? 20.5 : 17, humidity: m(ts) === 9 ? 101 : 60 })),
        ...every(MINUTE, 'y', W.start, W.end, (ts) => ({ temperature: 20, dew_point: m(ts) < 10 ? 21 : 17 })),
        ...every(MINUTE, 'l1', W.start, W.end, () => ({ temperature: 20 })),
        ...every(MINUTE, 'l2', W.start + 20_000, W.end, (ts) => ({ dew_point: [30, 31].includes(Math.floor(m(ts))) ? 22 : 15 })),
      ].sort((a, b) => a.ts - b.ts);
      await loadSamples(t.w, [], samples);
      const cfg = defaultQualityConfig({
        rules: { list: [{ expr: 'dew_point <= temperature' }, { expr: 'humidity<=100' }, { expr: 'dew_point <= temperature', scope: 'location' }] },
      });
      const job = ruleJob(cfg);
      const ctx = jobContext(t.w, NOW);
      await job.run(W, ctx);
      await job.run(W, ctx);
      const rows = await results(t.w);
      assert.deepEqual(
        rows.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.severity, r.observed, r.expected]),
        [
          ['rule', null, 'dew_point <= temperature', iso(W.start), 'warning', 2, 0],
          ['rule', 'x', 'dew_point <= temperature', iso(W.start), 'warning', 3, 0],
          ['rule', 'x', 'humidity <= 100', iso(W.start), 'warning', 1, 0],
          ['rule', 'y', 'dew_point <= temperature', iso(W.start), 'critical', 10, 0],
        ],
      );
      assert.equal(
        rows[0].detail,
        'location site, buckets of 60 s: 2 of 60 checked timestamps violate dew_point <= temperature; first at 2024-05-01T12:30:00.000Z (dew_point=22, temperature=20), last at 2024-05-01T12:31:00.000Z (dew_point=22, temperature=20)',
      );
      assert.match(rows[1].detail, /^3 of 60 checked timestamps violate dew_point <= temperature; first at 2024-05-01T12:05:00.000Z \(dew_point=20\.5, temperature=20\)/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('quarantine and duplicate rates', () => {
  test('per sensor by arrival time, items naming no sensor, duplicates per source', async () => {
    const t = await tempWarehouse(T0 - DAY);
    try {
      const s = new SpoolSim();
      const at = (k: number) => W.start + k * 1000; // receivedAt inside the window
      const records = [];
      // q: 97 stored + 3 quarantined (3 %: warning); r: 80 + 20 (20 %: critical); ok: 100 + 0.
      for (const [id, good, bad] of [
        ['q', 97, 3],
        ['r', 80, 20],
        ['ok', 100, 0],
      ] as const) {
        for (let i = 0; i < good; i++) records.push(s.message([reading(id, 'temperature', T0 + i * 1000, 20)], { receivedAt: at(i) }));
        for (let i = 0; i < bad; i++) {
          records.push(s.message([], { receivedAt: at(i), topic: `sensors/${id}/telemetry`, quarantined: [quarantineItem('out_of_range', { sensorId: id, metric: 'temperature', ts: T0 + i })] }));
        }
      }
      // 5 items naming no sensor; 20 exact repeats from mqtt; 10 readings from http; 4 quarantined items of q before the window.
      for (let i = 0; i < 5; i++) records.push(s.message([], { receivedAt: at(i), quarantined: [quarantineItem('invalid_json')] }));
      for (let i = 0; i < 20; i++) records.push(s.message([reading('ok', 'temperature', T0 + i * 1000, 20)], { receivedAt: at(200 + i) }));
      for (let i = 0; i < 10; i++) records.push(s.message([reading('h', 'temperature', T0 + i * 1000, 20)], { receivedAt: at(i), source: 'http' }));
      for (let i = 0; i < 4; i++) {
        records.push(s.message([], { receivedAt: W.start - 10 * MINUTE, quarantined: [quarantineItem('non_finite', { sensorId: 'q', metric: 'temperature' })] }));
      }
      await t.w.writeBatch(batchOf(records));
      const job = ingestJob(defaultQualityConfig());
      const ctx = jobContext(t.w, NOW);
      await job.run(W, ctx);
      await job.run(W, ctx);
      const rows = await results(t.w);
      assert.deepEqual(
        rows.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.severity, Math.round(r.observed! * 10000) / 10000]),
        [
          ['duplicate_rate', null, null, iso(W.start), 'warning', Math.round((20 / 297) * 10000) / 10000],
          ['quarantine_rate', null, null, iso(W.start), 'warning', Math.round((5 / 335) * 10000) / 10000],
          ['quarantine_rate', 'q', null, iso(W.start), 'warning', 0.03],
          ['quarantine_rate', 'r', null, iso(W.start), 'critical', 0.2],
        ],
      );
      assert.equal(rows[0].detail, 'source mqtt: 20 duplicates among 297 accepted items (6.734 %)');
      assert.equal(rows[1].detail, 'items naming no sensor: 5 of 335 received (1.493 %; reasons: invalid_json 5)');
      assert.equal(rows[3].detail, '20 of 100 items quarantined (20 %; reasons: out_of_range 20)');
    } finally {
      await t.cleanup();
    }
  });
});
