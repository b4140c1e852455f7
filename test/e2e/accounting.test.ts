// Nothing disappears silently: mixed valid and invalid traffic over MQTT (real broker, real device
// credentials) and HTTP, then received = accepted + quarantined + rejected with the exact count of
// every reason, from GET /v1/accounting, from `sensorpipe status --json` and from /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { startServer, tempDir } from '../helpers/server.js';
import { parseProm, sample } from '../helpers/prom-text.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'accounting-device-secret';
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

interface Totals {
  received: number;
  accepted: number;
  quarantined: number;
  rejected: number;
  duplicates: number;
}
interface Report {
  from: string | null;
  to: string | null;
  totals: Totals;
  balanced: boolean;
  problems: string[];
  bySource: ({ source: string } & Totals)[];
  byReason: { source: string; outcome: string; reason: string; items: number }[];
}

/** Publishes and reports whether the broker acknowledged it or closed the connection instead. */
async function publish(client: MqttClient, topic: string, payload: string): Promise<'acked' | 'closed'> {
  let onClose!: () => void;
  const closed = new Promise<'closed'>((resolve) => client.once('close', (onClose = () => resolve('closed'))));
  try {
    return await Promise.race([client.publishAsync(topic, payload, { qos: 1 }).then(() => 'acked' as const), closed]);
  } finally {
    client.off('close', onClose);
  }
}

/** Runs the CLI from source without blocking this process (the server runs in it). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function refusedConnect(url: string, opts: { clientId: string; username?: string; password?: string }): Promise<void> {
  await assert.rejects(connectAsync(url, { ...opts, reconnectPeriod: 0 }), `connection ${opts.clientId} is refused`);
}

const msg = (i: number, readings: Record<string, unknown>) => JSON.stringify({ ts: new Date(T0 + i * 60_000).toISOString(), readings });

test('mixed valid and invalid traffic over MQTT and HTTP: the identity holds with the exact count of every reason', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  await sp.auth.addDevice('dev-a', ['dev-a'], { secret: SECRET });
  const url = `mqtt://127.0.0.1:${sp.mqtt!.port}`;
  const device = { clientId: 'dev-a', username: 'dev-a', password: SECRET, reconnectPeriod: 0 };
  const topic = 'sensors/dev-a/telemetry';

  // MQTT, as the authenticated device.
  let client = await connectAsync(url, device);
  for (let i = 0; i < 4; i++) assert.equal(await publish(client, topic, msg(i, { temperature: 20 + i, humidity: 50 })), 'acked'); // 8 accepted
  for (let i = 0; i < 2; i++) assert.equal(await publish(client, topic, '{"ts": "2026-11-30T12:00:00Z", "readings": {'), 'acked'); // 2 invalid_json
  for (let i = 10; i < 13; i++) assert.equal(await publish(client, topic, msg(i, { temperature: 500 })), 'acked'); // 3 out_of_range
  assert.equal(await publish(client, topic, msg(0, { temperature: 20, humidity: 50 })), 'acked'); // 2 accepted, both duplicates
  assert.equal(await publish(client, topic, msg(1, { temperature: 99 })), 'acked'); // 1 conflicting_duplicate
  assert.equal(await publish(client, 'sensors/not-mine/telemetry', msg(0, { temperature: 20 })), 'closed'); // 1 not_authorized
  client.end(true);
  await refusedConnect(url, { clientId: 'dev-a', username: 'dev-a', password: 'wrong' }); // 1 auth_failed
  await refusedConnect(url, { clientId: 'bad id!' }); // 1 invalid_client_id
  client = await connectAsync(url, device);
  await client.endAsync();

  // HTTP.
  const base = `http://127.0.0.1:${sp.httpPort}`;
  const admin = { authorization: `Bearer ${sp.localToken}`, 'content-type': 'application/json' };
  const body = JSON.stringify([
    { sensor_id: 'http-1', ts: new Date(T0).toISOString(), readings: { temperature: 21 } }, // 1 accepted
    { sensor_id: 'http-1', ts: new Date(T0 + 60_000).toISOString(), readings: { temperature: 'warm' } }, // 1 non_finite
  ]);
  assert.equal((await fetch(`${base}/v1/ingest`, { method: 'POST', headers: admin, body })).status, 200);
  assert.equal((await fetch(`${base}/v1/ingest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 401); // 1 auth_failed
  assert.equal((await fetch(`${base}/v1/ingest`, { method: 'POST', headers: { ...admin, 'content-type': 'text/csv' }, body: 'a,b' })).status, 415); // 1 unsupported_media_type
  await sp.writer.drain();

  const expected: Report['byReason'] = [
    { source: 'http', outcome: 'quarantined', reason: 'non_finite', items: 1 },
    { source: 'http', outcome: 'rejected', reason: 'auth_failed', items: 1 },
    { source: 'http', outcome: 'rejected', reason: 'unsupported_media_type', items: 1 },
    { source: 'mqtt', outcome: 'quarantined', reason: 'conflicting_duplicate', items: 1 },
    { source: 'mqtt', outcome: 'quarantined', reason: 'invalid_json', items: 2 },
    { source: 'mqtt', outcome: 'quarantined', reason: 'out_of_range', items: 3 },
    { source: 'mqtt', outcome: 'rejected', reason: 'auth_failed', items: 1 },
    { source: 'mqtt', outcome: 'rejected', reason: 'invalid_client_id', items: 1 },
    { source: 'mqtt', outcome: 'rejected', reason: 'not_authorized', items: 1 },
  ];
  const order = (rows: Report['byReason']) => [...rows].sort((a, b) => `${a.source}|${a.outcome}|${a.reason}`.localeCompare(`${b.source}|${b.outcome}|${b.reason}`));
  const expectedTotals = {
    mqtt: { received: 19, accepted: 10, quarantined: 6, rejected: 3, duplicates: 2 },
    http: { received: 4, accepted: 1, quarantined: 1, rejected: 2, duplicates: 0 },
  };

  const check = (r: Report, where: string) => {
    assert.equal(r.balanced, true, `${where}: ${r.problems.join('; ')}`);
    assert.deepEqual(order(r.byReason), expected, `${where}: counts per reason`);
    assert.deepEqual(r.bySource, [{ source: 'http', ...expectedTotals.http }, { source: 'mqtt', ...expectedTotals.mqtt }], `${where}: per source`);
    assert.deepEqual(r.totals, { received: 23, accepted: 11, quarantined: 7, rejected: 5, duplicates: 2 }, `${where}: totals`);
    assert.equal(r.totals.received, r.totals.accepted + r.totals.quarantined + r.totals.rejected);
  };

  // The API, all time.
  const analyst = { authorization: `Bearer ${sp.auth.createToken('analyst', 'bi')}` };
  const all = await fetch(`${base}/v1/accounting`, { headers: analyst });
  assert.equal(all.status, 200);
  check((await all.json()) as Report, 'GET /v1/accounting');
  assert.equal((await fetch(`${base}/v1/accounting`)).status, 401, 'accounting needs a token');

  // A range by arrival time: everything arrived in the last hour; nothing a day ago.
  const now = Date.now();
  const ranged = (await (await fetch(`${base}/v1/accounting?from=${new Date(now - 3_600_000).toISOString()}&to=${now + 60_000}`, { headers: analyst })).json()) as Report;
  check(ranged, 'GET /v1/accounting with a range');
  assert.equal(ranged.from, new Date(Math.floor((now - 3_600_000) / 3_600_000) * 3_600_000).toISOString(), 'from is rounded down to its hour');
  const yesterday = (await (await fetch(`${base}/v1/accounting?from=${now - 2 * 86_400_000}&to=${now - 86_400_000}`, { headers: analyst })).json()) as Report;
  assert.deepEqual([yesterday.totals.received, yesterday.balanced, yesterday.bySource], [0, true, []]);
  const bad = await fetch(`${base}/v1/accounting?from=yesterday`, { headers: analyst });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /from="yesterday" is not an ISO-8601 time/);

  // The CLI finds the server on the data dir.
  const json = await cli(['status', '--json', '--data-dir', tmp.dir]);
  assert.equal(json.code, 0, json.stderr);
  check((JSON.parse(json.stdout) as { identity: Report }).identity, 'sensorpipe status --json');
  const text = await cli(['status', '--data-dir', tmp.dir]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^received 23 = accepted 11 \+ quarantined 7 \+ rejected 5 {3}\(duplicates among accepted: 2\)$/m);
  assert.match(text.stdout, /^ {2}mqtt: received 19 = accepted 10 \+ quarantined 6 \+ rejected 3/m);
  assert.match(text.stdout, /^mqtt\s+quarantined\s+out_of_range\s+3$/m);

  // /metrics counts the same items (this process wrote all of them).
  const prom = parseProm(await (await fetch(`${base}/metrics`)).text());
  for (const r of expected) assert.equal(sample(prom, 'sensorpipe_items_total', { source: r.source, outcome: r.outcome, reason: r.reason }), r.items, `metrics ${r.source} ${r.reason}`);
  assert.equal(sample(prom, 'sensorpipe_items_total', { source: 'mqtt', outcome: 'accepted', reason: '' }), 10);
  assert.equal(sample(prom, 'sensorpipe_items_received_total', { source: 'mqtt' }), 19);
  assert.equal(sample(prom, 'sensorpipe_items_received_total', { source: 'http' }), 4);
  assert.equal(sample(prom, 'sensorpipe_items_duplicate_total'), 2);
});
