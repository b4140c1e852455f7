// Alerting end to end: a real server (DuckDB, spool, HTTP) with an injected clock, real HTTP
// receivers as notifier endpoints. Bad traffic makes the error-rate rule fire; a silent sensor
// fires sensor_silent; the notifications arrive once; a broken notifier shows as failing in
// GET /v1/alerts; a restart keeps the state and sends nothing twice; recovery resolves.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir, testConfig } from '../helpers/server.js';
import { Sensorpipe } from '../../src/runtime/sensorpipe.js';
import { silentLogger } from '../../src/core/types.js';

interface Posted {
  path: string;
  body: { key: string; status: string; title: string; data: { alerts: { id: string }[] } };
}

async function receiver() {
  const got: Posted[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: JSON.parse(data) as Posted['body'] });
      res.writeHead(req.url === '/broken' ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  return { got, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface AlertsAnswer {
  counts: Record<string, number>;
  alerts: { id: string; rule: string; state: string; value: number | null; summary: string; labels: Record<string, string> }[];
  history: { alertId: string; from: string; to: string }[];
  notifiers: { name: string; status: string; sent: number; failed: number; lastError: string | null }[];
}

test('error rate and silent sensor alerts fire, notify once, survive a restart, and resolve', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const rx = await receiver();
  let now = Date.now();
  const clock = { now: () => now };
  const config = testConfig(tmp.dir, {
    alerts: {
      evaluateIntervalS: 3600, // the timer evaluates once at start; the test drives the rest
      rules: { error_rate: { forS: 0, minItems: 10 }, sensor_silent: { k: 10 } },
    },
    notifiers: [
      { name: 'ops-hook', kind: 'webhook', url: `${rx.base}/hook` },
      { name: 'broken-slack', kind: 'slack', url: `${rx.base}/broken`, maxAttempts: 2, initialDelayMs: 1 },
    ],
  });
  let sp = await Sensorpipe.start(config, { logger: silentLogger, clock });
  t.after(() => sp.stop());
  const admin = sp.auth.createToken('admin');
  const analyst = sp.auth.createToken('analyst');
  const alerts = async (): Promise<AlertsAnswer> => {
    const r = await sp.http!.inject({ method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${analyst}` } });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as AlertsAnswer;
  };
  const ingest = async (records: unknown[]) => {
    const r = await sp.http!.inject({ method: 'POST', url: '/v1/ingest', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify(records) });
    assert.equal(r.statusCode, 200, r.body);
    await sp.writer.drain();
  };
  const hookPosts = (key: string) => rx.got.filter((g) => g.path === '/hook' && g.body.key === key).map((g) => g.body.status);

  await sp.alerting!.manager.evaluateNow(); // the error-rate window starts here
  await sp.warehouse.upsertSensor({ sensorId: 'boiler-1', location: 'basement', type: 'temp', expectedIntervalS: 10, metrics: { temperature: { unit: '°C', min: -60, max: 100 } } });
  // 40 good readings, 10 of them from boiler-1, and 10 nulls (non_finite): 20 % errors
  const good = Array.from({ length: 40 }, (_, i) => ({ sensor_id: i < 10 ? 'boiler-1' : 'room-1', ts: new Date(now - i * 1000).toISOString(), temperature: 20 + i / 10 }));
  const bad = Array.from({ length: 10 }, (_, i) => ({ sensor_id: 'room-1', ts: new Date(now - 100_000 - i * 1000).toISOString(), temperature: null }));
  await ingest([...good, ...bad]);

  now += 60_000;
  let report = await sp.alerting!.manager.evaluateNow();
  assert.deepEqual(report.events.map((e) => [e.alertId, e.to]), [['error_rate', 'firing']]);
  let a = await alerts();
  const er = a.alerts.find((x) => x.rule === 'error_rate')!;
  assert.equal(er.state, 'firing');
  assert.equal(er.value, 10 / 50);
  assert.match(er.summary, /20\.0 % \(> 1\.00 %\): 10 of 50 items/);
  assert.deepEqual(hookPosts('error_rate'), ['firing']);
  // the broken notifier: tried twice, failing, visible with its error; the URL is not shown
  const broken = a.notifiers.find((n) => n.name === 'broken-slack')!;
  assert.equal(broken.status, 'failing');
  assert.equal(broken.failed, 1);
  assert.match(broken.lastError!, /HTTP 500 .* after 2 attempts/);
  assert.equal(JSON.stringify(a).includes(rx.base), false);
  assert.equal(rx.got.filter((g) => g.path === '/broken').length, 2);
  assert.deepEqual(a.notifiers.find((n) => n.name === 'ops-hook'), { ...a.notifiers.find((n) => n.name === 'ops-hook')!, status: 'ok', sent: 1 });
  // ...and in /metrics, for Prometheus alerting on the alerting itself
  const metrics = (await sp.http!.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${admin}` } })).body;
  assert.match(metrics, /sensorpipe_notifier_up\{notifier="broken-slack",kind="slack"\} 0/);
  assert.match(metrics, /sensorpipe_notifier_up\{notifier="ops-hook",kind="webhook"\} 1/);
  assert.match(metrics, /sensorpipe_alerts\{rule="error_rate",state="firing"\} 1/);

  // boiler-1 expects a reading every 10 s: 2 minutes later it is silent (k = 10 → 100 s)
  now += 120_000;
  report = await sp.alerting!.manager.evaluateNow();
  a = await alerts();
  assert.deepEqual(a.alerts.filter((x) => x.rule === 'sensor_silent').map((x) => [x.labels.sensor_id, x.state]), [['boiler-1', 'firing']]);
  assert.deepEqual(hookPosts('sensor_silent'), ['firing']);
  assert.deepEqual(hookPosts('error_rate'), ['firing'], 'still firing, not repeated before the repeat interval');

  // restart on the same data: the state is back before any evaluation, and nothing is sent again
  await sp.stop();
  now += 30_000;
  sp = await Sensorpipe.start(config, { logger: silentLogger, clock });
  a = await alerts();
  assert.deepEqual(a.alerts.filter((x) => x.state === 'firing').map((x) => x.id).sort(), ['error_rate', 'sensor_silent{sensor_id=boiler-1}']);
  assert.ok(a.history.some((e) => e.alertId === 'error_rate' && e.to === 'firing'), 'history survives the restart');
  await sp.alerting!.manager.evaluateNow();
  assert.deepEqual(hookPosts('error_rate'), ['firing']);
  assert.deepEqual(hookPosts('sensor_silent'), ['firing']);

  // recovery: boiler-1 reports again and 60 good items arrive in a fresh window
  now += 60_000;
  await ingest(Array.from({ length: 60 }, (_, i) => ({ sensor_id: i < 10 ? 'boiler-1' : 'room-1', ts: new Date(now - i * 500).toISOString(), temperature: 21 })));
  now += 5_000;
  report = await sp.alerting!.manager.evaluateNow();
  assert.deepEqual(report.events.map((e) => [e.alertId, e.from, e.to]).sort(), [
    ['error_rate', 'firing', 'resolved'],
    ['sensor_silent{sensor_id=boiler-1}', 'firing', 'resolved'],
  ]);
  assert.deepEqual(hookPosts('error_rate'), ['firing', 'resolved']);
  assert.deepEqual(hookPosts('sensor_silent'), ['firing', 'resolved']);
  a = await alerts();
  assert.deepEqual(a.counts, { firing: 0, pending: 0, resolved: 2 });
});

test('GET /v1/alerts needs a reader token; /v1/sql durations reach the latency tracker; POST /v1/alerts/test', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const rx = await receiver();
  const sp = await Sensorpipe.start(
    testConfig(tmp.dir, {
      notifiers: [
        { name: 'chat', kind: 'slack', url: `${rx.base}/slack` },
        { name: 'gone', kind: 'webhook', url: `${rx.base}/broken`, maxAttempts: 1 },
      ],
    }),
    { logger: silentLogger },
  );
  t.after(() => sp.stop());
  assert.equal((await sp.http!.inject({ method: 'GET', url: '/v1/alerts' })).statusCode, 401);
  const device = sp.auth.createToken('device');
  assert.equal((await sp.http!.inject({ method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${device}` } })).statusCode, 403);
  const analyst = sp.auth.createToken('analyst');
  for (let i = 0; i < 3; i++) {
    const r = await sp.http!.inject({ method: 'POST', url: '/v1/sql', headers: { authorization: `Bearer ${analyst}` }, payload: { sql: 'select 1' } });
    assert.equal(r.statusCode, 200);
  }
  assert.equal(sp.alerting!.latency.size, 3);

  // a test notification through every notifier, admin only
  const denied = await sp.http!.inject({ method: 'POST', url: '/v1/alerts/test', headers: { authorization: `Bearer ${analyst}` } });
  assert.equal(denied.statusCode, 403);
  const admin = sp.auth.createToken('admin');
  const tested = await sp.http!.inject({ method: 'POST', url: '/v1/alerts/test', headers: { authorization: `Bearer ${admin}` } });
  assert.equal(tested.statusCode, 200, tested.body);
  const results = (tested.json() as { results: { name: string; kind: string; ok: boolean; attempts: number; error?: string }[] }).results;
  assert.deepEqual(results.map((r) => [r.name, r.kind, r.ok, r.attempts]), [['chat', 'slack', true, 1], ['gone', 'webhook', false, 1]]);
  assert.match(results[1].error!, /HTTP 500/);
  const slack = rx.got.find((g) => g.path === '/slack')!.body as unknown as { text: string };
  assert.match(slack.text, /Sensorpipe test notification/);
});
