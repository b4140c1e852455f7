// End to end on ephemeral ports: devices publish over MQTT QoS 1 through the embedded broker; every
// acknowledged message must be found as readings or as quarantine rows with the expected reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { DuckDBInstance } from '@duckdb/node-api';
import { simulate, type LedgerLine } from '../../src/sim/simulate.js';
import { rows, startServer, tempDir } from '../helpers/server.js';

const SECRET = 'e2e-shared-device-secret';

test('10 devices, 10,000 QoS 1 messages, 5% invalid of every kind: nothing acknowledged is lost', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await sp.stop();
  });
  const sensors = Array.from({ length: 10 }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`);
  for (const id of sensors) await sp.auth.addDevice(id, [id], { secret: SECRET });

  const ledgerPath = join(tmp.dir, 'ledger.jsonl');
  const report = await simulate({
    url: `mqtt://127.0.0.1:${sp.mqtt!.port}`,
    sensors: 10,
    count: 10_000,
    badRatio: 0.05,
    password: SECRET,
    ledger: ledgerPath,
    seed: 'e2e',
  });
  assert.equal(report.failed, 0, 'every message is acknowledged');
  assert.equal(report.acked, 10_000 - report.skipped);
  await sp.writer.drain();

  const ledger = readFileSync(ledgerPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LedgerLine);
  assert.equal(ledger.length, report.acked);
  const kinds = new Set(ledger.map((l) => l.expected));
  for (const k of ['accepted', 'invalid_json', 'schema', 'non_finite', 'invalid_id', 'bad_timestamp', 'future_timestamp', 'out_of_range', 'identity_mismatch', 'payload_too_large', 'conflicting_duplicate']) {
    assert.ok(kinds.has(k as LedgerLine['expected']), `the run includes ${k}`);
  }

  // Every accepted message: each of its readings is stored with the value sent.
  const stored = await rows<{ sensor_id: string; metric: string; ts: string; value: number }>(sp, 'select sensor_id, metric, ts, value from readings');
  const byKey = new Map(stored.map((r) => [`${r.sensor_id}|${r.metric}|${Date.parse(r.ts)}`, r.value]));
  let acceptedReadings = 0;
  for (const l of ledger.filter((x) => x.expected === 'accepted')) {
    for (const [metric, value] of Object.entries(l.readings!)) {
      acceptedReadings++;
      assert.equal(byKey.get(`${l.sensor}|${metric}|${Date.parse(l.ts!)}`), value, `reading ${l.sensor} ${metric} ${l.ts}`);
    }
  }
  assert.equal(stored.length, acceptedReadings, 'no reading is stored that was not sent as valid');

  // Every invalid message: quarantined with its reason, for its sensor.
  const q = await rows<{ reason: string; sensor_id: string | null; n: number }>(sp, 'select reason, sensor_id, count(*)::int n from quarantine group by all');
  const count = (reason: string, sensor?: string) => q.filter((r) => r.reason === reason && (!sensor || r.sensor_id === sensor)).reduce((a, r) => a + r.n, 0);
  const expectedByReason = new Map<string, number>();
  for (const l of ledger.filter((x) => x.expected !== 'accepted')) expectedByReason.set(l.expected, (expectedByReason.get(l.expected) ?? 0) + 1);
  for (const [reason, n] of expectedByReason) {
    // A message is one quarantine item, except when its readings are judged one by one.
    const perMessage = reason === 'conflicting_duplicate' || reason === 'non_finite' || reason === 'out_of_range' || reason === 'invalid_id' ? undefined : 1;
    if (perMessage) assert.equal(count(reason), n, `quarantine rows for ${reason}`);
    else assert.ok(count(reason) >= n, `at least one quarantine row per ${reason} message (${count(reason)} >= ${n})`);
  }
  assert.deepEqual(new Set(q.map((r) => r.reason)), new Set(expectedByReason.keys()), 'no unexpected reason');

  // No duplicates, and the accounting identity holds exactly.
  const [dups] = await rows<{ n: number }>(sp, 'select count(*)::int n from (select sensor_id, metric, ts from readings group by all having count(*) > 1)');
  assert.equal(dups.n, 0);
  const status = (await sp.status()) as { accounting: { received: number; accepted: number; quarantined: number; rejected: number } };
  const a = status.accounting;
  assert.equal(a.received, a.accepted + a.quarantined + a.rejected);
  assert.equal(a.accepted, acceptedReadings);
  const [qn] = await rows<{ n: number }>(sp, 'select count(*)::int n from quarantine');
  assert.equal(a.quarantined, qn.n);
  assert.equal(a.rejected, 0);

  await sp.stop();
  stopped = true;

  // The lake holds the same accepted readings, read back by DuckDB with Hive partitioning.
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const lake = join(tmp.dir, 'lake');
  const raw = await conn.runAndReadAll(`select count(*)::int n, count(distinct date)::int d from read_parquet('${lake}/raw/**/*.parquet', hive_partitioning = true)`);
  // The raw layer keeps what was received, including exact repeats (none here) and values later found conflicting.
  const conflicts = count('conflicting_duplicate');
  assert.equal(raw.getRowObjects()[0].n, acceptedReadings + conflicts);
  const lq = await conn.runAndReadAll(`select reason, count(*)::int n from read_parquet('${lake}/quarantine/**/*.parquet', hive_partitioning = true) group by all`);
  const lakeQ = new Map(lq.getRowObjects().map((r) => [String(r.reason), Number(r.n)]));
  for (const r of new Set(q.map((x) => x.reason))) assert.equal(lakeQ.get(r), count(r), `lake quarantine for ${r}`);
  conn.closeSync();
});

test('security: wrong password, foreign topic, bad client ids are refused and counted', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  await sp.auth.addDevice('dev-a', ['dev-a'], { secret: SECRET });
  await sp.auth.addDevice('dev-b', ['dev-b'], { secret: SECRET });
  const url = `mqtt://127.0.0.1:${sp.mqtt!.port}`;
  const opts = { reconnectPeriod: 0, connectTimeout: 5000 };

  await assert.rejects(connectAsync(url, { ...opts, clientId: 'dev-a', username: 'dev-a', password: 'wrong-password-123' }), /Bad username or password|Not authorized/i);
  await assert.rejects(connectAsync(url, { ...opts, clientId: 'x', username: 'nobody', password: SECRET }), /Bad username or password/i);
  await assert.rejects(connectAsync(url, { ...opts, clientId: 'anon' }), /Not authorized/i, 'anonymous refused outside demo mode');
  for (const clientId of ['#', '..', 'a/b', '+']) {
    await assert.rejects(connectAsync(url, { ...opts, clientId, username: 'dev-a', password: SECRET }), /Identifier rejected/i, `client id ${clientId}`);
  }

  // dev-a publishing for dev-b: refused (the connection is closed, nothing acknowledged), counted, nothing stored.
  const a = await connectAsync(url, { ...opts, clientId: 'dev-a', username: 'dev-a', password: SECRET });
  const closed = new Promise<void>((resolve) => a.once('close', () => resolve()));
  a.publish('sensors/dev-b/telemetry', JSON.stringify({ ts: new Date().toISOString(), temperature: 20 }), { qos: 1 }, () => {});
  await closed;
  a.end(true);
  // A subscription to everything is refused too.
  const a2 = await connectAsync(url, { ...opts, clientId: 'dev-a', username: 'dev-a', password: SECRET });
  await assert.rejects(a2.subscribeAsync('#', { qos: 1 }), /Subscribe error/, 'SUBACK failure for #');
  // Its own sensor works.
  await a2.publishAsync('sensors/dev-a/telemetry', JSON.stringify({ ts: new Date().toISOString(), temperature: 20 }), { qos: 1 });
  await a2.endAsync();

  await sp.writer.drain();
  const got = await rows<{ sensor_id: string; n: number }>(sp, 'select sensor_id, count(*)::int n from readings group by all');
  assert.deepEqual(got, [{ sensor_id: 'dev-a', n: 1 }]);
  const rej = await rows<{ reason: string; n: number }>(sp, "select reason, sum(items)::int n from ingest_counts where outcome = 'rejected' group by all order by reason");
  const byReason = Object.fromEntries(rej.map((r) => [r.reason, r.n]));
  assert.equal(byReason.auth_failed, 3);
  assert.equal(byReason.invalid_client_id, 4);
  assert.equal(byReason.not_authorized, 1);
});
