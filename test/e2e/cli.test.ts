// The command line as a user meets it: exit codes, messages that name the fix, and the
// query/status/devices/tokens commands against a running server and against the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { freePort, startChild } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, SENSORPIPE_LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('config check prints every problem with its path and exits 3', (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const file = join(tmp.dir, 'bad.yaml');
  writeFileSync(file, 'mqtt:\n  port: 70000\nlake:\n  partitioning: weekly\n');
  const r = cli(['config', 'check', file]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /2 problem/);
  assert.match(r.stderr, /mqtt\.port/);
  assert.match(r.stderr, /lake\.partitioning/);
  const ok = cli(['config', 'check', '--print'], { SENSORPIPE_MQTT__PORT: '1999' });
  assert.equal(ok.code, 0);
  assert.equal(JSON.parse(ok.stdout.slice(ok.stdout.indexOf('{'))).mqtt.port, 1999);
});

test('a busy MQTT port fails with the flag to change; demo mode falls back to a free port', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const blocker = createServer().listen(0, '0.0.0.0');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const busy = (blocker.address() as { port: number }).port;
  const r = cli(['start', '--data-dir', join(tmp.dir, 'a'), '--mqtt-port', String(busy), '--http-port', '0']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, new RegExp(`MQTT port ${busy} is already in use`));
  assert.match(r.stderr, /--mqtt-port/);

  const demo = startChild({ dataDir: join(tmp.dir, 'b'), mqttPort: busy, args: ['--demo', '--no-fleet'] });
  await demo.ready;
  const port = Number(/mqtt:\/\/localhost:(\d+)/.exec(demo.output())![1]);
  assert.notEqual(port, busy);
  assert.match(demo.output(), /DEMO MODE/);
  assert.match(demo.output(), new RegExp(`port ${busy} is busy`));
  demo.proc.kill('SIGTERM');
  const demoExit = await demo.exited;
  assert.equal(demoExit.code, 0, `exit ${JSON.stringify(demoExit)}; output:\n${demo.output()}`);
});

test('devices, tokens, query and status against a running server and against the file', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const dataDir = join(tmp.dir, 'data');
  const added = cli(['devices', 'add', 'boiler-1', '--json', '--data-dir', dataDir]);
  assert.equal(added.code, 0, added.stderr);
  const { secret } = JSON.parse(added.stdout) as { secret: string };
  assert.ok(secret.length >= 32);
  assert.equal(cli(['devices', 'add', '../etc', '--data-dir', dataDir]).code, 2);

  const mqttPort = await freePort();
  const server = startChild({ dataDir, mqttPort });
  t.after(() => server.proc.kill('SIGKILL'));
  await server.ready;
  const c = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'boiler-1', username: 'boiler-1', password: secret, reconnectPeriod: 0 });
  await c.publishAsync('sensors/boiler-1/telemetry', JSON.stringify([{ ts: '2026-01-01T00:00:00Z', temperature: 60.5 }, { ts: '2026-01-01T00:01:00Z', temperature: 'hot' }]), { qos: 1 });
  await c.endAsync();

  // The server writes in batches; poll until the accepted reading is queryable.
  let out = '';
  for (let i = 0; i < 100 && !out.includes('60.5'); i++) {
    out = cli(['query', '--json', '--data-dir', dataDir, 'select sensor_id, value from readings']).stdout;
  }
  assert.deepEqual(JSON.parse(out.trim()), { sensor_id: 'boiler-1', value: 60.5 });
  const q = cli(['query', '--json', '--data-dir', dataDir, 'select reason from quarantine']);
  assert.deepEqual(JSON.parse(q.stdout.trim()), { reason: 'non_finite' });
  const refused = cli(['query', '--data-dir', dataDir, 'drop table readings']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /403/);

  const status = cli(['status', '--json', '--data-dir', dataDir]);
  const s = JSON.parse(status.stdout) as { accounting: { received: number; accepted: number; quarantined: number; rejected: number } };
  assert.deepEqual([s.accounting.received, s.accounting.accepted, s.accounting.quarantined, s.accounting.rejected], [2, 1, 1, 0]);

  // An analyst token works over --url; a bad token is refused with a clear message.
  const token = cli(['tokens', 'create', '--role', 'analyst', '--data-dir', dataDir]).stdout.trim();
  const url = /HTTP\s+(http:\/\/localhost:\d+)/.exec(server.output())![1];
  const viaUrl = cli(['query', '--json', '--url', url, '--token', token, 'select count(*)::int n from readings']);
  assert.deepEqual(JSON.parse(viaUrl.stdout.trim()), { n: 1 });
  const bad = cli(['query', '--url', url, '--token', 'spt_wrong', 'select 1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /401/);

  server.proc.kill('SIGTERM');
  const serverExit = await server.exited;
  assert.equal(serverExit.code, 0, `exit ${JSON.stringify(serverExit)}; output:\n${server.output()}`);
  // No server: query opens the warehouse file read-only.
  const offline = cli(['query', '--json', '--data-dir', dataDir, 'select count(*)::int n from readings']);
  assert.deepEqual(JSON.parse(offline.stdout.trim()), { n: 1 });
});
