// Issue 7, bad-input corpus: every item of test/fixtures/bad-input/manifest.json goes through a real
// Sensorpipe child process (embedded MQTT broker and HTTP) and must change the durable accounting
// by exactly its expected reasons. Afterwards, and after a slowloris phase: the process is up, a
// fresh valid message still gets through, RSS stayed under a generous bound (printed), and
// nothing was written outside the data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { once } from 'node:events';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';
import { connectAsync } from 'mqtt';
import { freePort } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';
import { connectPacket, publishHead, rawConnect, rawSession, streamFiller, varint } from '../helpers/raw-mqtt.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/bad-input/manifest.json'), 'utf8')) as { items: Item[] };
const RSS_BOUND_MB = 700;
const MB = 1024 * 1024;

interface Item {
  id: string;
  via: 'mqtt' | 'mqtt-raw' | 'http' | 'http-get';
  topic?: string;
  payload?: string;
  payloads?: string[];
  payloadHex?: string;
  body?: string;
  url?: string;
  contentType?: string;
  generate?: string;
  repeat?: number;
  mqtt?: 'puback' | 'closed';
  status?: number | number[];
  expect?: { accepted?: number; duplicate?: number; quarantined?: Record<string, number>; rejected?: Record<string, number> };
  stored?: number;
}

type Counts = Map<string, number>;

/** A deep array of arrays around one reading: valid JSON that no reading can be. */
function deepNesting(depth: number, closed: boolean, now: string): string {
  const v = '['.repeat(depth) + '1' + (closed ? ']'.repeat(depth) : '');
  return `{"ts":"${now}","readings":{"temperature":${v}}}` + (closed ? '' : '');
}

function padded(bytes: number, sensorField: string, now: string): string {
  const body = `{${sensorField}"ts":"${now}","temperature":21.5}`;
  return body + ' '.repeat(bytes - body.length);
}

/**
 * POSTs a body with node:http and resolves with the status as soon as the answer arrives: a server
 * that refuses early (413) may close the socket while the body is still being written.
 */
function postEarly(url: string, headers: Record<string, string>, body: Buffer | { chunkedBytes: number }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
      res.on('error', () => resolve({ status: res.statusCode!, text }));
    });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server answered 413 and closed while the body was still being written: the client may
      // see the reset before the answer. Reported as status 0; the accounting tells what happened.
      if (!answered && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) resolve({ status: 0, text: err.code });
      else if (!answered) reject(err);
    });
    if (Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < body.chunkedBytes && !answered && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}

async function gzipBomb(inflated: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const gz = createGzip({ level: 9 });
  gz.on('data', (c: Buffer) => parts.push(c));
  const zeros = Buffer.alloc(MB, 0x20);
  for (let i = 0; i < inflated / MB; i++) gz.write(zeros);
  await new Promise<void>((resolve) => gz.end(resolve));
  return Buffer.concat(parts);
}

function listAll(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = lstatSync(p);
    return st.isDirectory() ? [p, ...listAll(p)] : [p];
  });
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

test('bad-input corpus through a real server: every item counted with its reason, process up, memory bounded, nothing outside the data dir', { timeout: 300_000 }, async (t) => {
  const tmp = tempDir('sensorpipe-badinput-');
  t.after(tmp.cleanup);
  const dataDir = join(tmp.dir, 'data');
  const cwd = join(tmp.dir, 'cwd'); // the server's working directory: must stay empty
  mkdirSync(cwd);
  const mqttPort = await freePort();
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const proc = spawn(
    process.execPath,
    ['--import', tsx, join(ROOT, 'src/cli/main.ts'), 'start', '--demo', '--no-fleet', '--data-dir', dataDir, '--mqtt-port', String(mqttPort), '--http-port', '0'],
    {
      cwd,
      env: { ...process.env, SENSORPIPE_LOG_LEVEL: 'error', SENSORPIPE_WRITER__FLUSH_INTERVAL_MS: '20', SENSORPIPE_MQTT__CONNECT_TIMEOUT_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  });
  const deadline = Date.now() + 60_000;
  while (!out.includes('Sensorpipe is running.')) {
    assert.ok(Date.now() < deadline && proc.exitCode === null, `server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { httpUrl: string }).httpUrl;
  const token = readFileSync(join(dataDir, 'local-admin.token'), 'utf8').trim();
  const auth = { authorization: `Bearer ${token}` };

  let peakKb = rssKb(proc.pid!);
  const baseKb = peakKb;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(proc.pid!))), 50);
  t.after(() => clearInterval(sampler));

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const r = await fetch(base + path, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  /** Durable counts once the spool is written: accepted, duplicate and outcome/reason. */
  const counts = async (): Promise<Counts> => {
    const until = Date.now() + 30_000;
    for (;;) {
      const st = await api<{ pending: { records: number } }>('/v1/status');
      if (st.pending.records === 0) break;
      assert.ok(Date.now() < until, 'the writer drained the spool');
      await new Promise((r) => setTimeout(r, 20));
    }
    const st = await api<{ accounting: { byReason: { outcome: string; reason: string; items: number }[] } }>('/v1/status');
    const c: Counts = new Map();
    for (const r of st.accounting.byReason) {
      const key = r.outcome === 'accepted' || r.outcome === 'duplicate' ? r.outcome : `${r.outcome}/${r.reason}`;
      c.set(key, (c.get(key) ?? 0) + r.items);
    }
    return c;
  };
  const sql = async (q: string) => (await api<{ rows: Record<string, unknown>[] }>('/v1/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: q }) })).rows;

  /** Publishes QoS 1 with a fresh anonymous demo client: puback, or closed by the broker. */
  const publish = async (clientId: string, topic: string, payloads: Buffer[]): Promise<'puback' | 'closed'> => {
    const c = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.on('error', () => {}); // a refused publish closes the connection: that is the outcome, not a failure
    const closed = new Promise<'closed'>((resolve) => c.once('close', () => resolve('closed')));
    let result: 'puback' | 'closed' = 'puback';
    for (const p of payloads) {
      const r = await Promise.race([c.publishAsync(topic, p, { qos: 1 }).then(
          () => 'puback' as const,
          () => 'closed' as const,
        ),
        closed,
      ]);
      if (r === 'closed') {
        result = 'closed';
        break;
      }
    }
    c.on('error', () => {});
    c.end(true);
    return result;
  };

  const report: string[] = [];
  let n = 0;
  for (const item of MANIFEST.items) {
    t.diagnostic(item.id);
    const sensor = `bad-${++n}`;
    const now = new Date().toISOString();
    const fill = (s: string) => s.replaceAll('{{sensor}}', sensor).replaceAll('{{now}}', now);
    const before = await counts();
    let outcome: string;

    if (item.via === 'mqtt') {
      let topic = fill(item.topic ?? 'sensors/{{sensor}}/telemetry');
      if (item.generate === 'topic-10KB-id') topic = `sensors/${'a'.repeat(10 * 1024)}/telemetry`;
      if (item.generate === 'topic-60KB') topic = `sensors/${sensor}/telemetry/${'x'.repeat(60 * 1024)}`;
      let payloads: Buffer[];
      if (item.generate === 'deep-nesting') payloads = [Buffer.from(deepNesting(50_000, true, now))];
      else if (item.generate === 'deep-nesting-unclosed') payloads = [Buffer.from(deepNesting(100_000, false, now))];
      else if (item.generate === 'padded-300KB') payloads = [Buffer.from(padded(300 * 1024, '', now))];
      else if (item.payloadHex) payloads = [Buffer.from(item.payloadHex, 'hex')];
      else if (item.payloads) payloads = item.payloads.map((p) => Buffer.from(fill(p)));
      else payloads = Array.from({ length: item.repeat ?? 1 }, () => Buffer.from(fill(item.payload!)));
      outcome = await publish(sensor, topic, payloads);
      assert.equal(outcome, item.mqtt, `${item.id}: the device sees ${item.mqtt}`);
    } else if (item.via === 'mqtt-raw') {
      if (item.generate === 'header-256MB') {
        // A PUBLISH header claiming 256 MB before any CONNECT, then a little of the body.
        const c = await rawConnect(mqttPort);
        c.socket.write(Buffer.concat([Buffer.from([0x30]), varint(256 * MB - 1), Buffer.alloc(1024, 0x41)]));
        await c.closed;
      } else if (item.generate === 'publish-5MB' || item.generate === 'publish-100MB') {
        const size = item.generate === 'publish-5MB' ? 5 * MB : 100 * MB;
        const c = await rawSession(mqttPort, sensor);
        c.socket.write(publishHead(`sensors/${sensor}/telemetry`, size));
        const written = await streamFiller(c, size);
        await c.closed;
        report.push(`${item.id}: connection closed after the client wrote ${(written / MB).toFixed(1)} MB of ${size / MB} MB`);
      } else {
        const topic = item.generate === 'topic-depth-10000' ? `sensors/${sensor}/${'a/'.repeat(10_000)}telemetry` : fill(item.topic!);
        const c = await rawSession(mqttPort, sensor);
        const payload = Buffer.from(`{"ts":"${now}","temperature":20}`);
        c.socket.write(Buffer.concat([publishHead(topic, payload.length), payload]));
        await c.closed;
        assert.equal(c.received().length, 4, `${item.id}: only the CONNACK came back, no PUBACK`);
      }
      outcome = 'closed';
      assert.equal(outcome, item.mqtt);
    } else if (item.via === 'http') {
      const url = base + (item.url ?? '/v1/ingest');
      const headers: Record<string, string> = { ...auth, 'content-type': item.contentType ?? 'application/json' };
      let body: Buffer | { chunkedBytes: number };
      if (item.generate === 'body-10KB-id') body = Buffer.from(`[{"sensor_id":"${'a'.repeat(10 * 1024)}","ts":"${now}","temperature":20}]`);
      else if (item.generate === 'body-10KB-metric') body = Buffer.from(`[{"sensor_id":"${sensor}","ts":"${now}","${'m'.repeat(10 * 1024)}":20}]`);
      else if (item.generate === 'http-padded-300KB') body = Buffer.from(padded(300 * 1024, `"sensor_id":"${sensor}",`, now));
      else if (item.generate === 'http-5MB') body = Buffer.alloc(5 * MB, 0x20);
      else if (item.generate === 'http-100MB-chunked') body = { chunkedBytes: 100 * MB };
      else if (item.generate === 'gzip-bomb-100MB') {
        body = await gzipBomb(100 * MB);
        headers['content-encoding'] = 'gzip';
      } else body = Buffer.from(fill(item.body!));
      const r = await postEarly(url, headers, body);
      outcome = String(r.status);
      const closedEarly = r.status === 0 && item.status === 413;
      assert.ok(r.status === item.status || closedEarly, `${item.id}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    } else {
      const r = await fetch(base + fill(item.url!), { headers: auth });
      outcome = String(r.status);
      const allowed = item.status as number[];
      assert.ok(allowed.includes(r.status), `${item.id}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
    }

    const want: Counts = new Map();
    if (item.expect?.accepted) want.set('accepted', item.expect.accepted);
    if (item.expect?.duplicate) want.set('duplicate', item.expect.duplicate);
    for (const [r, k] of Object.entries(item.expect?.quarantined ?? {})) want.set(`quarantined/${r}`, k);
    for (const [r, k] of Object.entries(item.expect?.rejected ?? {})) want.set(`rejected/${r}`, k);
    // A refusal is recorded in the spool as the connection closes: wait (bounded) until it is counted.
    let got: Counts = new Map();
    for (const until = Date.now() + 10_000; ; ) {
      const after = await counts();
      got = new Map();
      for (const key of new Set([...before.keys(), ...after.keys()])) {
        const d = (after.get(key) ?? 0) - (before.get(key) ?? 0);
        if (d !== 0) got.set(key, d);
      }
      if (JSON.stringify([...got].sort()) === JSON.stringify([...want].sort()) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(Object.fromEntries(got), Object.fromEntries(want), `${item.id}: accounting delta`);
    if (item.stored !== undefined) {
      const [{ n: stored }] = await sql(`select count(*)::int n from readings where sensor_id = '${sensor}'`);
      assert.equal(stored, item.stored, `${item.id}: rows stored`);
    }
    report.push(`${item.id}: ${outcome} ${JSON.stringify(Object.fromEntries(got))}`);
  }
  assert.equal(proc.exitCode, null, 'the server is still running after the corpus');

  // Slowloris: 300 MQTT sockets that send half a CONNECT and stall, 100 HTTP sockets with half a
  // request line. Meanwhile a real device and an HTTP client still get through.
  const half = connectPacket('slow-client').subarray(0, 7);
  const mqttSlow: { s: Socket; closed: Promise<void> }[] = [];
  for (let i = 0; i < 300; i++) {
    const c = await rawConnect(mqttPort);
    c.socket.write(half);
    mqttSlow.push({ s: c.socket, closed: c.closed });
  }
  const httpSlow: Socket[] = [];
  const port = Number(new URL(base).port);
  for (let i = 0; i < 100; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    await once(s, 'connect');
    s.write('POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Le');
    httpSlow.push(s);
  }
  const before = await counts();
  const fresh = `fresh-${Date.now()}`;
  assert.equal(await publish(fresh, `sensors/${fresh}/telemetry`, [Buffer.from(JSON.stringify({ ts: new Date().toISOString(), temperature: 21 }))]), 'puback');
  const viaHttp = await fetch(`${base}/v1/ingest`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ sensor_id: fresh, ts: new Date(Date.now() - 1000).toISOString(), humidity: 40 }),
  });
  assert.equal(viaHttp.status, 200);
  // The broker closes every half-open MQTT socket once mqtt.connectTimeoutMs (1.5 s here) has passed.
  await Promise.all(mqttSlow.map((c) => c.closed));
  for (const s of httpSlow) s.destroy();
  const after = await counts();
  assert.equal(after.get('accepted')! - before.get('accepted')!, 2, 'the fresh readings were accepted');
  assert.deepEqual(await sql(`select metric, value from readings where sensor_id = '${fresh}' order by metric`), [
    { metric: 'humidity', value: 40 },
    { metric: 'temperature', value: 21 },
  ]);
  // The SQL injection attempts changed nothing: the tables are there and answer.
  assert.ok(((await sql('select count(*)::int n from ingest_counts'))[0].n as number) > 0);

  clearInterval(sampler);
  peakKb = Math.max(peakKb, rssKb(proc.pid!));
  const peakMb = peakKb / 1024;
  console.log(report.map((l) => `  ${l}`).join('\n'));
  console.log(`bad-input corpus: ${MANIFEST.items.length} items; server RSS ${(baseKb / 1024).toFixed(0)} MB at start, peak ${peakMb.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`);
  assert.ok(peakMb < RSS_BOUND_MB, `server RSS peaked at ${peakMb.toFixed(0)} MB`);

  proc.kill('SIGTERM');
  assert.equal(await exited, 0, `clean stop:\n${out.slice(-2000)}`);

  // Nothing outside the data directory: the temp root holds data/ and the (empty) working directory,
  // and every path under data/ stays inside it with only id-alphabet characters in its names.
  assert.deepEqual(readdirSync(tmp.dir).sort(), ['cwd', 'data']);
  assert.deepEqual(readdirSync(cwd), [], 'the working directory stays empty');
  const realData = realpathSync(dataDir);
  for (const p of listAll(dataDir)) {
    assert.ok(!lstatSync(p).isSymbolicLink(), `no symlinks: ${p}`);
    assert.ok(realpathSync(p).startsWith(realData + '/'), p);
    assert.match(relative(dataDir, p), /^[A-Za-z0-9=._\/-]+$/, 'file names built only from safe characters');
  }
});
