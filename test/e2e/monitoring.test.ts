// /metrics and /readyz over a real socket after real MQTT and HTTP traffic: the numbers a Prometheus
// scrape sees match what was sent and what the warehouse holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { rows, startServer, tempDir } from '../helpers/server.js';
import { parseProm, sample, type PromSample } from '../helpers/prom-text.js';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';

const HOUR = 3_600_000;

async function scrape(sp: Sensorpipe): Promise<{ text: string; samples: PromSample[] }> {
  const res = await fetch(`http://127.0.0.1:${sp.httpPort}/metrics`);
  assert.equal(res.status, 200, 'metrics are public: no token');
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseProm(text) };
}

async function readyz(sp: Sensorpipe): Promise<{ status: number; body: { status: string; checks: { name: string; ok: boolean; detail: string; action?: string }[] } }> {
  const res = await fetch(`http://127.0.0.1:${sp.httpPort}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

function reading(ts: number, readings: Record<string, unknown>): string {
  return JSON.stringify({ ts: new Date(ts).toISOString(), readings });
}

test('/metrics after MQTT and HTTP traffic: counts by outcome and reason, latency histogram, spool, sinks, jobs, sensors', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { demo: true, metrics: { maxSensorLabels: 2 } });
  t.after(() => sp.stop());
  const base = Date.now() - 2 * HOUR;

  const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${sp.mqtt!.port}`, { clientId: 'metrics-e2e', reconnectPeriod: 0 });
  // s-1, s-2, s-3 in that order: 5 messages of 2 readings each = 30 accepted readings.
  for (const sensor of ['s-1', 's-2', 's-3']) {
    for (let i = 0; i < 5; i++) await client.publishAsync(`sensors/${sensor}/telemetry`, reading(base + i * 60_000, { temperature: 20 + i, humidity: 40 }), { qos: 1 });
  }
  for (let i = 0; i < 2; i++) await client.publishAsync('sensors/s-1/telemetry', '{"ts": not json', { qos: 1 });
  for (let i = 0; i < 3; i++) await client.publishAsync('sensors/s-2/telemetry', reading(base + (10 + i) * 60_000, { temperature: 500 }), { qos: 1 });
  await client.endAsync();
  const http = await fetch(`http://127.0.0.1:${sp.httpPort}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sp.localToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sensor_id: 'h-1', ts: new Date(base).toISOString(), readings: { temperature: 21 } }),
  });
  assert.equal(http.status, 200);
  await sp.writer.drain();

  // A job run over the readings' hour, recorded by the scheduler.
  const job = await sp.http!.inject({
    method: 'POST',
    url: '/v1/jobs/resample/run',
    headers: { authorization: `Bearer ${sp.localToken}` },
    payload: { from: new Date(Math.floor(base / HOUR) * HOUR).toISOString(), to: new Date(Math.floor(base / HOUR) * HOUR + HOUR).toISOString() },
  });
  assert.equal(job.statusCode, 200, job.body);

  const { text, samples } = await scrape(sp);
  const items = (labels: Record<string, string>) => sample(samples, 'sensorpipe_items_total', labels);
  assert.equal(items({ source: 'mqtt', outcome: 'accepted', reason: '' }), 30);
  assert.equal(items({ source: 'mqtt', outcome: 'quarantined', reason: 'invalid_json' }), 2);
  assert.equal(items({ source: 'mqtt', outcome: 'quarantined', reason: 'out_of_range' }), 3);
  assert.equal(items({ source: 'http', outcome: 'accepted', reason: '' }), 1);
  assert.equal(sample(samples, 'sensorpipe_items_received_total', { source: 'mqtt' }), 35, 'received = accepted + quarantined + rejected');
  assert.equal(sample(samples, 'sensorpipe_items_received_total', { source: 'http' }), 1);
  assert.equal(sample(samples, 'sensorpipe_items_duplicate_total'), 0);

  // Histogram: one observation per accepted reading, which is what the warehouse holds.
  const [{ n }] = await rows<{ n: number }>(sp, 'select count(*)::int n from readings');
  assert.equal(n, 31);
  assert.equal(sample(samples, 'sensorpipe_queryable_latency_seconds_count', { since: 'device_time' }), n);
  assert.equal(sample(samples, 'sensorpipe_queryable_latency_seconds_count', { since: 'receive_time' }), n);
  // Device times are two hours old: none of them became queryable within 30 minutes of their timestamp.
  assert.equal(sample(samples, 'sensorpipe_queryable_latency_seconds_bucket', { since: 'device_time', le: '900' }), 0);
  assert.equal(sample(samples, 'sensorpipe_queryable_latency_seconds_bucket', { since: 'device_time', le: '21600' }), n);

  // Everything is written: the spool is empty, no lag.
  assert.equal(sample(samples, 'sensorpipe_spool_depth_records'), 0);
  assert.equal(sample(samples, 'sensorpipe_spool_depth_bytes'), 0);
  assert.equal(sample(samples, 'sensorpipe_pipeline_lag_seconds'), 0);
  assert.equal(sample(samples, 'sensorpipe_pipeline_lag_offsets'), 0);
  assert.equal(sample(samples, 'sensorpipe_spool_limit_bytes'), sp.config.spool.maxBytes);
  assert.equal(sample(samples, 'sensorpipe_writer_committed_offset'), sample(samples, 'sensorpipe_spool_last_offset'));
  assert.ok(sample(samples, 'sensorpipe_sink_write_duration_seconds_count', { sink: 'warehouse' })! >= 1);
  assert.equal(sample(samples, 'sensorpipe_sink_write_duration_seconds_count', { sink: 'lake' }), sample(samples, 'sensorpipe_sink_write_duration_seconds_count', { sink: 'warehouse' }));
  assert.equal(sample(samples, 'sensorpipe_sink_write_errors_total', { sink: 'warehouse' }), undefined, 'no write failed');

  // Jobs: the manual resample run of one window.
  assert.equal(sample(samples, 'sensorpipe_job_runs_total', { job: 'resample', status: 'ok' }), 1);
  assert.equal(sample(samples, 'sensorpipe_job_duration_seconds_count', { job: 'resample' }), 1);
  assert.ok(sample(samples, 'sensorpipe_job_last_success_timestamp_seconds', { job: 'resample' })! > base / 1000);

  // Bounded sensor labels: the first two sensors seen, the other two (s-3, h-1) folded into _other.
  const lastSeen = samples.filter((s) => s.name === 'sensorpipe_sensor_last_seen_timestamp_seconds').map((s) => s.labels.sensor_id);
  assert.deepEqual(lastSeen.sort(), ['_other', 's-1', 's-2']);
  assert.equal(sample(samples, 'sensorpipe_sensors_seen', { labelled: 'true' }), 2);
  assert.equal(sample(samples, 'sensorpipe_sensors_seen', { labelled: 'false' }), 2);

  // Alert states, registered by the alerting component through registerGauge: a series per rule and state.
  const alerts = samples.filter((s) => s.name === 'sensorpipe_alerts');
  assert.ok(alerts.length >= 2, 'sensorpipe_alerts is exported');
  assert.deepEqual([...new Set(alerts.map((a) => a.labels.state))].sort(), ['firing', 'pending']);

  // Process metrics, and HELP/TYPE lines for our own.
  assert.ok(sample(samples, 'process_cpu_user_seconds_total')! > 0);
  assert.match(text, /# TYPE sensorpipe_items_total counter/);
  assert.match(text, /# TYPE sensorpipe_queryable_latency_seconds histogram/);
});

test('/metrics counts refusals the full spool could not record; /readyz is 503 while the spool is full and 200 once written', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { demo: true, spool: { maxBytes: 20_000 } });
  t.after(() => sp.stop());

  const ok = await readyz(sp);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.status, 'ready');
  assert.deepEqual(ok.body.checks.map((c) => [c.name, c.ok]), [['warehouse', true], ['lake', true], ['spool', true], ['writer', true]]);

  await sp.writer.stop({ drain: false }); // a sink that does not keep up
  const client = await connectAsync(`mqtt://127.0.0.1:${sp.mqtt!.port}`, { clientId: 'full-1', reconnectPeriod: 0 });
  let acked = 0;
  for (let i = 0; i < 1000; i++) {
    const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
    const r = await Promise.race([client.publishAsync('sensors/full-1/telemetry', reading(Date.UTC(2026, 0, 1, 0, 0, i), { temperature: 20 }), { qos: 1 }).then(() => 'acked' as const), closed]);
    if (r === 'closed') break;
    acked++;
  }
  client.end(true);
  assert.ok(acked > 0 && acked < 1000, 'the spool filled up');

  const full = await readyz(sp);
  assert.equal(full.status, 503);
  assert.equal(full.body.status, 'not_ready');
  const spool = full.body.checks.find((c) => c.name === 'spool')!;
  assert.equal(spool.ok, false);
  assert.match(spool.detail, /of 20000 bytes/);
  assert.match(spool.action!, /sinks are not keeping up/);
  const { samples } = await scrape(sp);
  assert.equal(sample(samples, 'sensorpipe_refusals_unrecorded_total', { source: 'mqtt', reason: 'spool_full' }), 1);
  assert.equal(sample(samples, 'sensorpipe_spool_depth_records'), acked);
  assert.ok(sample(samples, 'sensorpipe_pipeline_lag_offsets')! >= acked);

  sp.writer.start();
  await sp.writer.drain();
  assert.equal((await readyz(sp)).status, 200, 'ready again once the writer caught up');
  const after = await scrape(sp);
  assert.equal(sample(after.samples, 'sensorpipe_items_total', { source: 'mqtt', outcome: 'accepted', reason: '' }), acked);
  assert.equal(sample(after.samples, 'sensorpipe_spool_depth_records'), 0);
});

test('/readyz names the lake when its path is not a directory, and the warehouse when it is closed', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { mqtt: { enabled: false } });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await sp.stop();
  });
  assert.equal((await readyz(sp)).status, 200);

  rmSync(sp.paths.lake, { recursive: true, force: true });
  writeFileSync(sp.paths.lake, 'not a directory');
  const noLake = await readyz(sp);
  assert.equal(noLake.status, 503);
  assert.deepEqual(noLake.body.checks.filter((c) => !c.ok).map((c) => c.name), ['lake']);
  const lake = noLake.body.checks.find((c) => c.name === 'lake')!;
  assert.match(lake.detail, /is not a directory/);
  assert.match(lake.action!, /writable directory/);

  await sp.writer.stop({ drain: false });
  await sp.warehouse.close();
  const noWarehouse = await readyz(sp);
  assert.equal(noWarehouse.status, 503);
  const wh = noWarehouse.body.checks.find((c) => c.name === 'warehouse')!;
  assert.equal(wh.ok, false);
  assert.match(wh.detail, /test query failed/);
  await sp.stop().catch(() => undefined);
  stopped = true;
});
