/**
 * Real data: 30 hours of the UCI Occupancy dataset (Candanedo & Feldheim 2016, CC BY 4.0) through
 * the ingest path, one spike injected into CO2; every quality job with default thresholds over
 * the fully covered hourly windows. The spike is found at critical, and it is the only critical
 * finding (warnings on the real data are allowed: they are what the measurements in
 * docs/quality.md count as false positives).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { qualityJobs } from '../../src/quality/index.js';
import { OCCUPANCY_SENSOR, occupancyDataset } from '../helpers/quality-data.js';
import { cloneSamples, spreadOf } from '../helpers/quality-faults.js';
import { jobContext, loadSamples, registerSensors, results, runWindows, tempWarehouse } from '../helpers/quality-load.js';

const HOUR = 3_600_000;

test('occupancy slice with one injected spike: the spike is the only critical finding', async () => {
  const ds = occupancyDataset(['datatraining.txt']);
  const first = ds.samples[0].ts; // 2015-02-04T17:51Z
  const samples = cloneSamples(ds.samples.filter((s) => s.ts < first + 30 * HOUR));
  const at = Date.parse('2015-02-05T10:17:00Z');
  const i = samples.findIndex((s) => s.ts === at);
  assert.ok(i > 0, 'the slice has a reading at 10:17');
  const day = samples.filter((s) => Math.abs(s.ts - at) <= 12 * HOUR).map((s) => s.values.co2);
  const original = samples[i].values.co2;
  samples[i].values.co2 = original + 8 * spreadOf(day);

  const t = await tempWarehouse(first); // registered when the first reading arrives
  try {
    await registerSensors(t.w, ds.sensors);
    await loadSamples(t.w, ds.sensors, samples);
    const from = Math.ceil(first / HOUR) * HOUR;
    const to = Math.floor(samples[samples.length - 1].ts / HOUR) * HOUR;
    const ctx = jobContext(t.w, to + HOUR);
    for (const job of qualityJobs(configSchema.parse({ quality: { rules: { list: [{ expr: 'humidity <= 100' }] } } }))) await runWindows(job, ctx, from, to);
    const rows = await results(t.w);
    const critical = rows.filter((r) => r.severity === 'critical');
    assert.deepEqual(
      critical.map((r) => [r.check, r.sensor_id, r.metric, r.window_start, r.window_end, r.observed, r.expected]),
      [['spike', OCCUPANCY_SENSOR, 'co2', '2015-02-05T10:00:00.000Z', '2015-02-05T11:00:00.000Z', samples[i].values.co2, critical[0]?.expected]],
      JSON.stringify(critical, null, 1),
    );
    assert.match(critical[0].detail, /^spike at 2015-02-05T10:17:00\.000Z: /);
    assert.ok(Math.abs(critical[0].expected! - original) < 20, 'the rolling median is close to the real value');
    // Warnings on real data stay rare: fewer than 1 % of the readings.
    const warnings = rows.filter((r) => r.severity === 'warning');
    assert.ok(warnings.length < 0.01 * samples.length * 5, `${warnings.length} warnings: ${warnings.map((w) => w.check + ' ' + w.metric).join(', ')}`);
  } finally {
    await t.cleanup();
  }
});
