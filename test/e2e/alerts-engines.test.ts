// The alert manager over both warehouse engines (DuckDB file, PostgreSQL schema): the same writes
// make the same alerts fire, the state tables round-trip, and a second manager on the same
// warehouse (a restart) neither forgets the alerts nor notifies them again.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Warehouse } from '../../src/core/sinks.js';
import { silentLogger, type SpoolStats } from '../../src/core/types.js';
import { AlertManager } from '../../src/alerting/alert-manager.js';
import { alertsConfigSchema, notifiersConfigSchema } from '../../src/alerting/config.js';
import { LatencyTracker } from '../../src/alerting/latency-tracker.js';
import { Notifiers } from '../../src/notifiers/notifier-set.js';
import { JobRunStore } from '../../src/jobs/job-runs.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { PostgresWarehouse } from '../../src/sinks/warehouse/postgres-warehouse.js';
import { MINUTE, SpoolSim, T0, batchOf, reading } from '../helpers/batches.js';
import { TEST_PG, dropSchema, freshSchemaName, pgUnavailable, requirePostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/server.js';

const received: { key: string; status: string }[] = [];
const server = createServer((req, res) => {
  let d = '';
  req.on('data', (c) => (d += c));
  req.on('end', () => {
    const b = JSON.parse(d) as { key: string; status: string };
    received.push({ key: b.key, status: b.status });
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
after(() => server.close());
const HOOK = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

const emptySpool: SpoolStats = { depthRecords: 0, depthBytes: 0, oldestUnwrittenAt: null, lastOffset: 0, checkpoint: 0, limitBytes: 1 };

async function scenario(kind: string, warehouse: Warehouse): Promise<void> {
  received.length = 0;
  let now = T0;
  const clock = { now: () => now };
  const config = alertsConfigSchema.parse({ rules: { error_rate: { forS: 0, minItems: 10 }, completeness: { enabled: false } } });
  const notifiers = () => Notifiers.fromConfig(notifiersConfigSchema.parse([{ name: 'hook', kind: 'webhook', url: HOOK }]), { clock, logger: silentLogger });
  const open = () => AlertManager.open({ warehouse, spoolStats: async () => emptySpool, latency: new LatencyTracker(), notifiers: notifiers(), clock, logger: silentLogger }, config);

  let m = await open();
  await m.evaluateNow(); // the error-rate window starts here
  await warehouse.upsertSensor({ sensorId: 'boiler-1', location: null, type: null, expectedIntervalS: 60, metrics: {} });
  const spool = new SpoolSim();
  const records = [
    ...Array.from({ length: 40 }, (_, i) => spool.message([reading('boiler-1', 'temperature', T0 - i * MINUTE, 20)], { receivedAt: T0 + 1000 })),
    ...Array.from({ length: 10 }, () => spool.rejected('auth_failed', { receivedAt: T0 + 1000 })),
  ];
  await warehouse.writeBatch(batchOf(records));
  const runs = new JobRunStore(warehouse);
  const run = await runs.begin('rollup_1h', { start: T0 - 3_600_000, end: T0 }, 'schedule', T0);
  await runs.finish(run, { status: 'failed', rows: null, durationMs: 3, error: 'connection reset', finishedAt: T0 + 2000, detail: null });

  now = T0 + 15 * MINUTE; // boiler-1 last arrived at T0 + 1 s: silent for > 10 × 60 s
  const report = await m.evaluateNow();
  assert.deepEqual(report.events.map((e) => [e.alertId, e.to]).sort(), [
    ['error_rate', 'firing'],
    ['job_failed{job=rollup_1h}', 'firing'],
    ['sensor_silent{sensor_id=boiler-1}', 'firing'],
  ], kind);
  const er = m.current().alerts.find((a) => a.id === 'error_rate')!;
  assert.equal(er.value, 10 / 50, kind);
  assert.deepEqual(received.map((r) => r.key).sort(), ['error_rate', 'job_failed{job=rollup_1h}', 'sensor_silent'], kind);
  await m.stop();

  // restart: a new manager on the same warehouse
  now += MINUTE;
  m = await open();
  assert.deepEqual(m.current().alerts.filter((a) => a.state === 'firing').map((a) => a.id).sort(), ['error_rate', 'job_failed{job=rollup_1h}', 'sensor_silent{sensor_id=boiler-1}'], kind);
  assert.equal(m.current().alerts.find((a) => a.id === 'error_rate')!.firedAt, T0 + 15 * MINUTE, kind);
  await m.evaluateNow();
  assert.equal(received.length, 3, `${kind}: nothing is sent twice after a restart`);
  const history = await m.history(10);
  assert.deepEqual(history.filter((e) => e.to === 'firing').length, 3, kind);

  // the job succeeds again: its alert resolves and the resolution is sent once; a window without
  // traffic (fewer than minItems items) has no error rate to speak of, so error_rate resolves too
  const ok = await runs.begin('rollup_1h', { start: T0, end: T0 + 3_600_000 }, 'schedule', now);
  await runs.finish(ok, { status: 'ok', rows: 5, durationMs: 3, error: null, finishedAt: now + 1000, detail: null });
  now += MINUTE;
  const r2 = await m.evaluateNow();
  assert.deepEqual(r2.events.map((e) => [e.alertId, e.from, e.to]).sort(), [['error_rate', 'firing', 'resolved'], ['job_failed{job=rollup_1h}', 'firing', 'resolved']], kind);
  assert.deepEqual(received.slice(3).sort((x, y) => x.key.localeCompare(y.key)), [{ key: 'error_rate', status: 'resolved' }, { key: 'job_failed{job=rollup_1h}', status: 'resolved' }], kind);
  assert.deepEqual(m.current().alerts.filter((a) => a.state === 'firing').map((a) => a.id), ['sensor_silent{sensor_id=boiler-1}'], kind);
  await m.stop();
}

test('DuckDB: alerts fire from the warehouse, persist across a restart, resolve', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const w = await DuckDbWarehouse.open({ path: join(tmp.dir, 'w.duckdb'), metricDefaults: {}, logger: silentLogger });
  t.after(() => w.close());
  await scenario('duckdb', w);
});

if (requirePostgres('alerts on PostgreSQL')) {
  test('PostgreSQL: the same alerts from the same writes', async (t) => {
    assert.equal(pgUnavailable, null);
    const schema = freshSchemaName();
    const w = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: {} });
    t.after(async () => {
      await w.close();
      await dropSchema(schema);
    });
    await scenario('postgres', w);
  });
}
