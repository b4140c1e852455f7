// Telegraf compatibility: the exact request Telegraf's outputs.influxdb_v2 plugin sends
// (plugins/outputs/influxdb_v2/http.go: POST <url>/api/v2/write?bucket=<bucket>&org=<org>, the
// body gzip'd (content_encoding = "gzip" is its default), Content-Type "text/plain; charset=utf-8",
// Authorization "Token <token>", its User-Agent, no precision parameter, so ns timestamps), over a
// real socket. Telegraf itself is not installed here, so this replays that request shape; the
// body is what Telegraf's influx serializer writes for its cpu, mem, system and temp inputs (tags
// sorted, integers with "i", unsigned with "u", one metric per line, each line ending in "\n").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { rows, startServer, tempDir } from '../helpers/server.js';

const T = (Math.floor(Date.now() / 10_000) * 10_000 - 3_600_000) * 1_000_000; // ns, on a 10 s interval, an hour ago
const T_MS = T / 1_000_000;

function telegrafBody(ts: number): string {
  return [
    `cpu,cpu=cpu-total,host=sensor-gw-1 usage_guest=0,usage_idle=97.49373433583959,usage_iowait=0.25062656641604,usage_system=1.0025062656641603,usage_user=1.2531328320802004 ${ts}`,
    `mem,host=sensor-gw-1 active=1234567i,available_percent=61.23,total=8241008640i,used_percent=38.77 ${ts}`,
    `system,host=sensor-gw-1 load1=0.12,load15=0.05,load5=0.08,n_cpus=4i,n_users=1i ${ts}`,
    `system,host=sensor-gw-1 uptime_format=" 3 days,  4:05" ${ts}`,
    `system,host=sensor-gw-1 uptime=273900u ${ts}`,
    `temp,host=sensor-gw-1,sensor=coretemp_package_id_0 temp=45 ${ts}`,
    '',
  ].join('\n');
}

function telegrafRequest(url: string, token: string, body: string): Promise<Response> {
  return fetch(`${url}/api/v2/write?bucket=telegraf&org=sensorpipe`, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'gzip',
      'Content-Type': 'text/plain; charset=utf-8',
      Authorization: `Token ${token}`,
      'User-Agent': 'Telegraf/1.34.0 Go/1.24.1',
      'Accept-Encoding': 'gzip',
    },
    body: gzipSync(Buffer.from(body)),
  });
}

test('a Telegraf influxdb_v2 write is answered 204 and stored; its string field is quarantined, not lost', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { http: { host: '127.0.0.1', port: 0, maxBodyBytes: 4096 } });
  t.after(() => sp.stop());
  await sp.auth.addDevice('sensor-gw-1');
  const token = sp.auth.createToken('device', 'telegraf', Date.now(), 'sensor-gw-1');
  const url = `http://127.0.0.1:${sp.httpPort}`;

  const r = await telegrafRequest(url, token, telegrafBody(T));
  assert.equal(r.status, 204, await r.clone().text());
  assert.equal(await r.text(), '');
  assert.equal(r.headers.get('x-sensorpipe-accepted'), '16');
  assert.equal(r.headers.get('x-sensorpipe-quarantined'), '1');

  await sp.writer.drain();
  const stored = await rows<{ metric: string; value: number; ts: string }>(sp, "select metric, value, ts from readings where sensor_id = 'sensor-gw-1' order by metric");
  assert.ok(stored.every((s) => Date.parse(s.ts) === T_MS));
  assert.deepEqual(Object.fromEntries(stored.map((s) => [s.metric, s.value])), {
    cpu_usage_guest: 0,
    cpu_usage_idle: 97.49373433583959,
    cpu_usage_iowait: 0.25062656641604,
    cpu_usage_system: 1.0025062656641603,
    cpu_usage_user: 1.2531328320802004,
    mem_active: 1234567,
    mem_available_percent: 61.23,
    mem_total: 8241008640,
    mem_used_percent: 38.77,
    system_load1: 0.12,
    system_load15: 0.05,
    system_load5: 0.08,
    system_n_cpus: 4,
    system_n_users: 1,
    system_uptime: 273900,
    temp_temp: 45,
  });
  const q = await rows<{ reason: string; metric: string; topic: string; device_id: string; payload: string }>(
    sp,
    'select reason, metric, topic, device_id, payload from quarantine',
  );
  assert.deepEqual(q, [
    {
      reason: 'schema',
      metric: 'system_uptime_format',
      topic: 'http:/api/v2/write?precision=ns',
      device_id: 'sensor-gw-1',
      payload: `system,host=sensor-gw-1 uptime_format=" 3 days,  4:05" ${T}`,
    },
  ]);

  // Telegraf resends the same batch after a timeout: duplicates, not new rows.
  assert.equal((await telegrafRequest(url, token, telegrafBody(T))).status, 204);
  await sp.writer.drain();
  const [{ n }] = await rows<{ n: number }>(sp, "select count(*)::int n from readings where sensor_id = 'sensor-gw-1'");
  assert.equal(n, 16);

  // A batch over http.maxBodyBytes: 413 with InfluxDB's error body, which makes Telegraf split it.
  let big = '';
  for (let i = 1; big.length < 60_000; i++) big += telegrafBody(T + i * 10_000_000_000);
  const tooBig = await fetch(`${url}/api/v2/write?bucket=telegraf&org=sensorpipe`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain; charset=utf-8', Authorization: `Token ${token}` },
    body: big,
  });
  assert.equal(tooBig.status, 413);
  const body = (await tooBig.json()) as { code: string; message: string };
  assert.equal(body.code, 'request too large');
  assert.match(body.message, /http\.maxBodyBytes/);

  await sp.writer.drain();
  const status = (await sp.status()) as { accounting: { received: number; accepted: number; quarantined: number; rejected: number; duplicates: number } };
  const a = status.accounting;
  assert.equal(a.received, a.accepted + a.quarantined + a.rejected);
  assert.equal(a.duplicates, 16);
  assert.equal(a.rejected, 1);
});
