// SensorpipeMetrics as the pipeline observes it: what each observation does to the exposition, with
// an injected clock. (The e2e test test/e2e/monitoring.test.ts scrapes a real server.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SensorpipeMetrics } from '../../src/observability/metrics.js';
import type { DerivedQuarantine, SinkBatch, SpoolRecord } from '../../src/core/types.js';
import { parseProm, sample } from '../helpers/prom-text.js';

const T = Date.UTC(2026, 11, 3, 12, 0, 0);

function message(offset: number, sensorId: string, values: number[], receivedAt: number): SpoolRecord {
  return {
    kind: 'message',
    offset,
    message: { source: 'mqtt', topic: `sensors/${sensorId}/telemetry`, deviceId: sensorId, receivedAt, payload: Buffer.from('{}') },
    readings: values.map((value, i) => ({ sensorId, metric: 'temperature', ts: receivedAt - 10_000 + i, value, seq: null })),
    quarantined: [],
  };
}

async function scrape(m: SensorpipeMetrics) {
  return parseProm((await m.render()).body);
}

test('a committed batch: accepted, conflicts as quarantined, duplicates, one latency observation per accepted reading; a replayed range counts once', async () => {
  const now = { t: T };
  const m = new SensorpipeMetrics({ clock: { now: () => now.t }, maxSensorLabels: 10, processMetrics: false });
  const rec = message(1, 'a', [1, 2, 3], T - 2000);
  const rejected: SpoolRecord = { kind: 'rejected', offset: 2, source: 'http', topic: null, deviceId: null, receivedAt: T - 1000, reason: 'auth_failed', detail: '' };
  const conflict: DerivedQuarantine = {
    reason: 'conflicting_duplicate', detail: '', sensorId: 'a', metric: 'temperature', ts: T - 2000 - 10_000 + 2, payload: '', offset: 1, source: 'mqtt', topic: '', deviceId: 'a', receivedAt: T - 2000,
  };
  const batch: SinkBatch = { fromOffset: 1, toOffset: 2, records: [rec, rejected] };
  m.warehouseCommitted(batch, { inserted: 1, duplicates: 1, conflicts: [conflict] }, T);
  m.warehouseCommitted(batch, { inserted: 1, duplicates: 1, conflicts: [conflict] }, T + 5000); // the same range again

  const s = await scrape(m);
  assert.equal(sample(s, 'sensorpipe_items_total', { source: 'mqtt', outcome: 'accepted', reason: '' }), 2);
  assert.equal(sample(s, 'sensorpipe_items_total', { source: 'mqtt', outcome: 'quarantined', reason: 'conflicting_duplicate' }), 1);
  assert.equal(sample(s, 'sensorpipe_items_total', { source: 'http', outcome: 'rejected', reason: 'auth_failed' }), 1);
  assert.equal(sample(s, 'sensorpipe_items_received_total', { source: 'mqtt' }), 3);
  assert.equal(sample(s, 'sensorpipe_items_duplicate_total'), 1);
  assert.equal(sample(s, 'sensorpipe_queryable_latency_seconds_count', { since: 'receive_time' }), 2, 'the conflicting reading is not queryable');
  assert.equal(sample(s, 'sensorpipe_queryable_latency_seconds_sum', { since: 'receive_time' }), 4, '2 readings, 2 s each from arrival to commit');
  assert.equal(sample(s, 'sensorpipe_queryable_latency_seconds_bucket', { since: 'device_time', le: '10' }), 0);
  assert.equal(sample(s, 'sensorpipe_queryable_latency_seconds_bucket', { since: 'device_time', le: '30' }), 2, '12 s from device time');
  assert.equal(sample(s, 'sensorpipe_sensor_last_seen_timestamp_seconds', { sensor_id: 'a' }), (T - 2000) / 1000);
});

test('sink failures, job runs and failures, unrecorded refusals, spool state read at scrape time', async () => {
  const now = { t: T };
  const m = new SensorpipeMetrics({ clock: { now: () => now.t }, maxSensorLabels: 10, processMetrics: false });
  let failures = 0;
  m.watch({
    spool: async () => ({ depthRecords: 7, depthBytes: 700, oldestUnwrittenAt: T - 90_000, lastOffset: 57, checkpoint: 50, limitBytes: 1000 }),
    writer: () => ({ consecutiveFailures: failures }),
  });
  m.sinkWrite('warehouse', 0.02, true);
  m.sinkWrite('lake', 0.5, false);
  m.jobRun({ job: 'resample', status: 'ok', trigger: 'schedule', durationMs: 200 });
  now.t = T + 60_000;
  m.jobRun({ job: 'resample', status: 'failed', trigger: 'schedule', durationMs: 40 });
  m.refusalNotRecorded('mqtt', 'spool_full');
  m.refusalNotRecorded('mqtt', 'spool_full');
  failures = 4;

  const s = await scrape(m);
  assert.equal(sample(s, 'sensorpipe_sink_write_errors_total', { sink: 'lake' }), 1);
  assert.equal(sample(s, 'sensorpipe_sink_write_errors_total', { sink: 'warehouse' }), undefined);
  assert.equal(sample(s, 'sensorpipe_sink_write_duration_seconds_count', { sink: 'lake' }), 1);
  assert.equal(sample(s, 'sensorpipe_job_runs_total', { job: 'resample', status: 'ok' }), 1);
  assert.equal(sample(s, 'sensorpipe_job_runs_total', { job: 'resample', status: 'failed' }), 1);
  assert.equal(sample(s, 'sensorpipe_job_duration_seconds_count', { job: 'resample' }), 2);
  assert.equal(sample(s, 'sensorpipe_job_last_success_timestamp_seconds', { job: 'resample' }), T / 1000, 'the failed run does not move it');
  assert.equal(sample(s, 'sensorpipe_refusals_unrecorded_total', { source: 'mqtt', reason: 'spool_full' }), 2);
  assert.equal(sample(s, 'sensorpipe_spool_depth_records'), 7);
  assert.equal(sample(s, 'sensorpipe_pipeline_lag_seconds'), 150, 'oldest unwritten entry arrived 150 s before now');
  assert.equal(sample(s, 'sensorpipe_pipeline_lag_offsets'), 7);
  assert.equal(sample(s, 'sensorpipe_writer_consecutive_failures'), 4);
  assert.equal(sample(s, 'process_cpu_user_seconds_total'), undefined, 'process metrics off');
});

test('registerGauge: read at every scrape; a reader that throws leaves its gauge empty (NaN) and is counted; two instances do not collide', async () => {
  const m = new SensorpipeMetrics({ clock: { now: () => T }, maxSensorLabels: 10 });
  const other = new SensorpipeMetrics({ clock: { now: () => T }, maxSensorLabels: 10 });
  let firing = 1;
  m.registerGauge({ name: 'sensorpipe_alerts', help: 'alerts by rule and state', labelNames: ['rule', 'state'], read: () => [{ labels: { rule: 'lag', state: 'firing' }, value: firing }] });
  m.registerGauge({ name: 'sensorpipe_broken', help: 'always fails', read: () => { throw new Error('boom'); } });
  other.registerGauge({ name: 'sensorpipe_alerts', help: 'the same name on another instance', read: () => [] });
  assert.throws(() => m.registerGauge({ name: 'sensorpipe_alerts', help: 'twice', read: () => [] }), /already been registered/);

  assert.equal(sample(await scrape(m), 'sensorpipe_alerts', { rule: 'lag', state: 'firing' }), 1);
  firing = 0;
  const s = await scrape(m);
  assert.equal(sample(s, 'sensorpipe_alerts', { rule: 'lag', state: 'firing' }), 0);
  assert.ok(Number.isNaN(sample(s, 'sensorpipe_broken')), 'a gauge without labels that could not be read is NaN, not 0');
  assert.equal(sample(s, 'sensorpipe_metrics_collect_errors_total', { metric: 'sensorpipe_broken' }), 2);
  assert.ok(sample(s, 'process_cpu_user_seconds_total')! > 0, 'process metrics on by default');
});
