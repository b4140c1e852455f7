/**
 * Quality jobs on small synthetic data with injected faults, in real DuckDB files: exact findings
 * (check, sensor, metric, window, severity) and idempotency. Part 1: completeness/silent, spike,
 * rate of change, stuck.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MetricSpec } from '../../src/core/registry.js';
import { defaultQualityConfig } from '../../src/quality/config.js';
import { completenessJob } from '../../src/quality/checks/completeness.js';
import { rateJob } from '../../src/quality/checks/rate.js';
import { spikeJob } from '../../src/quality/checks/spike.js';
import { stuckJob } from '../../src/quality/checks/stuck.js';
import { qualityJobs } from '../../src/quality/index.js';
import { configSchema } from '../../src/config/schema.js';
import { HOUR, MINUTE, T0 } from '../helpers/batches.js';
import type { Sample, SensorDef } from '../helpers/quality-data.js';
import { jobContext, loadSamples, registerSensors, results, tempWarehouse, type ResultRow } from '../helpers/quality-load.js';

const W = { start: T0, end: T0 + HOUR };
const NOW = T0 + 2 * HOUR;
const TEMP: Record<string, MetricSpec> = { temperature: { unit: '°C', min: -60, max: 100 } };
const iso = (ms: number) => new Date(ms).toISOString();

function sensor(sensorId: string, intervalS: number | null, metrics: Record<string, MetricSpec> = TEMP, location: string | null = null): SensorDef {
  return { sensorId, location, intervalS: intervalS as number, metrics };
}

/** One sample per minute in [from, to) for which `value` returns a number (undefined = no reading). */
function minutes(sensorId: string, metric: string, from: number, to: number, value: (i: number, ts: number) => number | undefined): Sample[] {
  const out: Sample[] = [];
  for (let ts = from, i = 0; ts < to; ts += MINUTE, i++) {
    const v = value(i, ts);
    if (v !== undefined) out.push({ sensorId, ts, values: { [metric]: v } });
  }
  return out;
}

/** The columns a test pins down, plus the event time when the detail names one. */
function brief(rows: ResultRow[]): string[] {
  return rows.map((r) => `${r.check} ${r.sensor_id} ${r.metric} ${r.window_start}..${r.window_end} ${r.severity} ${r.observed} ${r.expected}`);
}

describe('completeness and silent', () => {
  test('counts against the declared interval, names gaps, silent and never-reporting sensors; idempotent', async () => {
    const t = await tempWarehouse(T0 - 24 * HOUR);
    try {
      await registerSensors(t.w, [sensor('a', 60), sensor('b', 60), sensor('c', 60), sensor('d', null), sensor('e', 60)]);
      // e is registered at 12:29:30 (as if installed then)
      await t.w.jobTransaction((tx) => tx.run(`UPDATE sensors SET created_at = CAST($1 AS TIMESTAMP) WHERE sensor_id = 'e'`, ['2024-05-01 12:29:30']));
      const samples = [
        ...minutes('a', 'temperature', T0 - HOUR, T0 + HOUR, (i) => (i >= 71 && i <= 80 ? undefined : 20)), // 12:11..12:20 missing
        ...minutes('b', 'temperature', T0 - HOUR, T0 + 25 * MINUTE, () => 20), // last at 12:24
        ...minutes('d', 'temperature', T0 - HOUR, T0 + HOUR, (i) => (i % 2 === 0 ? 20 : undefined)),
        ...minutes('e', 'temperature', T0 + 30 * MINUTE, T0 + HOUR, () => 20),
      ].sort((x, y) => x.ts - y.ts);
      await loadSamples(t.w, [], samples);
      const job = completenessJob(defaultQualityConfig());
      const ctx = jobContext(t.w, NOW);
      const r1 = await job.run(W, ctx);
      const rows = await results(t.w);
      assert.deepEqual(brief(rows), [
        `completeness a temperature ${iso(W.start)}..${iso(W.end)} warning 50 60`,
        `completeness b temperature ${iso(W.start)}..${iso(W.end)} critical 25 60`,
        `completeness c temperature ${iso(W.start)}..${iso(W.end)} critical 0 60`,
        `silent a temperature ${iso(W.start)}..${iso(W.end)} warning 660 300`,
        `silent b temperature ${iso(W.start)}..${iso(W.end)} critical 2160 300`,
        `silent c temperature ${iso(W.start)}..${iso(W.end)} critical 3600 300`,
      ]);
      assert.equal(r1.rows, 6);
      assert.deepEqual(r1.detail, { findings: 6, bySeverity: { completeness: { warning: 1, critical: 2 }, silent: { warning: 1, critical: 2 } } });
      assert.match(rows.find((r) => r.check === 'silent' && r.sensor_id === 'a')!.detail, /no reading after 2024-05-01T12:10:00.000Z until 2024-05-01T12:21:00.000Z: 660 s, more than 5 x the 60 s interval/);
      assert.match(rows.find((r) => r.check === 'silent' && r.sensor_id === 'b')!.detail, /still silent at the window end/);
      assert.match(rows.find((r) => r.check === 'completeness' && r.sensor_id === 'b')!.detail, /25 readings, 60 expected at one per 60 s .*41\.67 %, below 50 %/);
      assert.ok(rows.every((r) => r.created_at === iso(NOW)));

      // The previous window: c (registered a day ago) was already silent; e did not exist yet.
      await job.run({ start: T0 - HOUR, end: T0 }, ctx);
      const before = await results(t.w);
      assert.deepEqual(
        brief(before.filter((r) => r.window_start === iso(T0 - HOUR))),
        [`completeness c temperature ${iso(T0 - HOUR)}..${iso(T0)} critical 0 60`, `silent c temperature ${iso(T0 - HOUR)}..${iso(T0)} critical 3600 300`],
      );
      // Running the window again replaces exactly its rows.
      await job.run(W, ctx);
      await job.run(W, ctx);
      assert.deepEqual(await results(t.w), before);

      // Dry run: reports, writes nothing.
      await t.w.jobTransaction((tx) => tx.run('DELETE FROM quality_results'));
      const dry = await job.run(W, jobContext(t.w, NOW, true));
      assert.equal(dry.rows, 6);
      assert.deepEqual(await results(t.w), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe('spike and rate of change', () => {
  test('a large and a moderate spike: critical and warning at their readings; rate limits flag the jump; idempotent', async () => {
    const t = await tempWarehouse(T0 - 24 * HOUR);
    try {
      await registerSensors(t.w, [sensor('s', 60)]);
      // Alternating 20 / 20.1 (noise level 0.1/sqrt(2) x 1.4826 = 0.105), spikes at 12:17 (+2) and 12:40 (+0.5 on a 20).
      const samples = minutes('s', 'temperature', T0 - HOUR, T0 + 2 * HOUR, (i, ts) => {
        const base = i % 2 === 0 ? 20 : 20.1;
        if (ts === T0 + 17 * MINUTE) return base + 2;
        if (ts === T0 + 40 * MINUTE) return base + 0.5;
        return base;
      });
      assert.equal(samples.find((s) => s.ts === T0 + 40 * MINUTE)!.values.temperature, 20.5);
      await loadSamples(t.w, [], samples);
      const cfg = defaultQualityConfig({ rateOfChange: { maxRatePerS: { temperature: 0.02 } } });
      const ctx = jobContext(t.w, NOW);
      for (const job of [spikeJob(cfg), rateJob(cfg)]) {
        await job.run(W, ctx);
        await job.run(W, ctx);
      }
      const rows = await results(t.w);
      assert.deepEqual(
        rows.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.severity, r.detail.slice(0, r.detail.indexOf(':', 30))]),
        [
          ['rate_of_change', 's', 'temperature', iso(T0), 'warning', 'change at 2024-05-01T12:17:00.000Z'],
          ['rate_of_change', 's', 'temperature', iso(T0), 'warning', 'change at 2024-05-01T12:18:00.000Z'],
          ['spike', 's', 'temperature', iso(T0), 'critical', 'spike at 2024-05-01T12:17:00.000Z'],
          ['spike', 's', 'temperature', iso(T0), 'warning', 'spike at 2024-05-01T12:40:00.000Z'],
        ],
      );
      const crit = rows.find((r) => r.check === 'spike' && r.severity === 'critical')!;
      assert.equal(crit.observed, 22.1);
      assert.equal(crit.expected, 20);
      const warn = rows.find((r) => r.check === 'spike' && r.severity === 'warning')!;
      assert.equal(warn.observed, 20.5);
      assert.equal(warn.expected, 20.1);
      assert.match(warn.detail, /3\.8\d* robust sigmas/);
      // The windows around are clean, although their context holds the spikes.
      await spikeJob(cfg).run({ start: T0 - HOUR, end: T0 }, ctx);
      await spikeJob(cfg).run({ start: T0 + HOUR, end: T0 + 2 * HOUR }, ctx);
      assert.equal((await results(t.w, ['spike'])).length, 2);
    } finally {
      await t.cleanup();
    }
  });
});

describe('stuck', () => {
  test('runs beyond twice the longest natural run are flagged, resting values and short histories are not', async () => {
    const t = await tempWarehouse(T0 - 3 * 24 * HOUR);
    try {
      const light = { light: { unit: 'lx', min: 0, max: 5000 } };
      await registerSensors(t.w, [sensor('s', 60), sensor('young', 60), sensor('lamp', 60, light)]);
      const histFrom = T0 - 2 * 24 * HOUR;
      // History: consecutive values always differ, except one natural run of 3 -> threshold max(5, 2 x 3) = 6.
      // Then the window: 25.5 continuing from the last 4 history readings (4 + 3 = 7 -> warning),
      // a run of 8 at 30 (warning), a run of 13 at 31 (>= 12 -> critical), varying otherwise.
      const vary = (i: number) => 20 + 0.1 * ((i * 7) % 13);
      const s = minutes('s', 'temperature', histFrom, T0 + HOUR, (i, ts) => {
        const m = (ts - T0) / MINUTE;
        if (ts < T0) {
          if (m >= -4) return 25.5;
          if (i >= 100 && i < 103) return 19;
          return vary(i);
        }
        if (m < 3) return 25.5;
        if (m >= 10 && m < 18) return 30;
        if (m >= 30 && m < 43) return 31;
        return vary(i);
      });
      // young: only 12 h of history, then stuck for the whole window: not checked.
      const young = minutes('young', 'temperature', T0 - 12 * HOUR, T0 + HOUR, (i, ts) => (ts < T0 ? vary(i) : 22));
      // lamp: 0 at "night" (> 20 % of the history): staying at 0 is resting, not stuck; 400-ish otherwise.
      const lamp = minutes('lamp', 'light', histFrom, T0 + HOUR, (i, ts) => (ts >= T0 || i % 1440 < 600 ? 0 : 400 + ((i * 7) % 13)));
      await loadSamples(t.w, [], [...s, ...young, ...lamp].sort((a, b) => a.ts - b.ts));
      const job = stuckJob(defaultQualityConfig());
      const ctx = jobContext(t.w, NOW);
      await job.run(W, ctx);
      await job.run(W, ctx);
      const rows = await results(t.w);
      assert.deepEqual(
        rows.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.window_end, r.severity, r.observed, r.expected]),
        [
          ['stuck', 's', 'temperature', iso(W.start), iso(W.end), 'warning', 7, 6],
          ['stuck', 's', 'temperature', iso(W.start), iso(W.end), 'warning', 8, 6],
          ['stuck', 's', 'temperature', iso(W.start), iso(W.end), 'critical', 13, 6],
        ],
      );
      assert.match(rows[0].detail, /value 25\.5 repeated 7 times since before the window \(4 readings before it\) to 2024-05-01T12:02:00.000Z; longest natural run in the last 168 h: 3, threshold max\(5, 2 x 3\) = 6/);
      assert.match(rows[1].detail, /value 30 repeated 8 times from 2024-05-01T12:10:00.000Z to 2024-05-01T12:17:00.000Z/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('qualityJobs', () => {
  test('one job per check family with the configured window; none when disabled', () => {
    const jobs = qualityJobs(configSchema.parse({}));
    assert.deepEqual(
      jobs.map((j) => [j.name, j.windowMs]),
      [
        ['quality.completeness', HOUR],
        ['quality.spike', HOUR],
        ['quality.stuck', HOUR],
        ['quality.rate_of_change', HOUR],
        ['quality.drift', HOUR],
        ['quality.group_consistency', HOUR],
        ['quality.rules', HOUR],
        ['quality.ingest', HOUR],
      ],
    );
    assert.equal(qualityJobs(configSchema.parse({ quality: { windowMs: 86_400_000 } }))[0].windowMs, 86_400_000);
    assert.deepEqual(qualityJobs(configSchema.parse({ quality: { enabled: false } })), []);
  });

  test('every job runs on an empty warehouse and finds nothing', async () => {
    const t = await tempWarehouse(T0);
    try {
      const ctx = jobContext(t.w, NOW);
      for (const job of qualityJobs(configSchema.parse({ quality: { rules: { list: [{ expr: 'a < b' }] } } }))) {
        assert.deepEqual(await job.run(W, ctx), { rows: 0, detail: { findings: 0, bySeverity: {} } }, job.name);
      }
      assert.deepEqual(await results(t.w), []);
    } finally {
      await t.cleanup();
    }
  });
});
