// HTTP ingest end to end: the real app, a real DuckDB warehouse and spool in a temp dir. Requests are
// injected (app.inject) or sent over a real socket (fetch) where the transport matters (gzip bomb).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGzip, gzipSync } from 'node:zlib';
import { rows, startServer, tempDir } from '../helpers/server.js';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';

const MIN = 60_000;
const T0 = Math.floor(Date.now() / MIN) * MIN - 60 * MIN; // an hour ago, on a minute boundary
const iso = (ms: number) => new Date(ms).toISOString();

interface IngestAnswer {
  accepted: number;
  quarantined: number;
  reasons: Record<string, number>;
  items: { reason: string; detail: string; sensorId: string | null; metric: string | null; ts: string | null }[];
  itemsTruncated: boolean;
  offset: number;
}

interface Accounting {
  received: number;
  accepted: number;
  quarantined: number;
  rejected: number;
  duplicates: number;
  byReason: { source: string; outcome: string; reason: string; items: number }[];
}

function post(sp: Sensorpipe, url: string, opts: { token?: string | null; scheme?: string; type?: string | null; body: string | Buffer; headers?: Record<string, string> }) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `${opts.scheme ?? 'Bearer'} ${opts.token}`;
  if (opts.type !== null) headers['content-type'] = opts.type ?? 'application/json';
  return sp.http!.inject({ method: 'POST', url, headers, payload: opts.body });
}

async function accounting(sp: Sensorpipe): Promise<Accounting> {
  await sp.writer.drain();
  return ((await sp.status()) as { accounting: Accounting }).accounting;
}

function assertIdentity(a: Accounting): void {
  assert.equal(a.received, a.accepted + a.quarantined + a.rejected, 'received = accepted + quarantined + rejected');
  const sum = (o: string) => a.byReason.filter((r) => r.outcome === o).reduce((n, r) => n + r.items, 0);
  assert.equal(sum('accepted'), a.accepted);
  assert.equal(sum('quarantined'), a.quarantined);
  assert.equal(sum('rejected'), a.rejected);
}

test('JSON, NDJSON, SenML and line protocol land in readings with exact values; counts returned = stored', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  const admin = sp.auth.createToken('admin');

  // Sensorpipe JSON: nested and flat records, several sensors
  const json = await post(sp, '/v1/ingest', {
    token: admin,
    body: JSON.stringify([
      { sensor_id: 'j-1', ts: iso(T0), seq: 1, readings: { temperature: 21.25, humidity: 40.5 } },
      { sensor_id: 'j-2', ts: T0 / 1000, co2: 412 },
    ]),
  });
  assert.equal(json.statusCode, 200, json.body);
  assert.deepEqual(json.json(), { accepted: 3, quarantined: 0, reasons: {}, items: [], itemsTruncated: false, offset: json.json<IngestAnswer>().offset });

  // NDJSON
  const nd = await post(sp, '/v1/ingest', {
    token: admin,
    type: 'application/x-ndjson',
    body: `{"sensor_id":"n-1","ts":"${iso(T0)}","temperature":-3.5}\r\n\n{"sensor_id":"n-1","ts":"${iso(T0 + MIN)}","temperature":-3.75}\n`,
  });
  assert.equal(nd.json<IngestAnswer>().accepted, 2, nd.body);

  // SenML (RFC 8428): base name and time, relative t
  const senml = await post(sp, '/v1/ingest/senml', {
    token: admin,
    type: 'application/senml+json',
    body: JSON.stringify([
      { bn: 'urn:dev:ow:10e2073a01080063:', bt: T0 / 1000, n: 'voltage', u: 'V', v: 120.1 },
      { n: 'current', t: 60, u: 'A', v: 1.2 },
    ]),
  });
  assert.equal(senml.statusCode, 200, senml.body);
  assert.equal(senml.json<IngestAnswer>().accepted, 2);

  // Line protocol with an explicit precision, and gzip
  const lp = await post(sp, '/api/v2/write?org=o&bucket=b&precision=ms', {
    token: admin,
    scheme: 'Token',
    type: 'text/plain; charset=utf-8',
    headers: { 'content-encoding': 'gzip' },
    body: gzipSync(`weather,sensor_id=l-1,site=north\\ wing temperature=19.5,pressure=1013i ${T0}\ncpu,host=box-1 usage_idle=97.125 ${T0}\n`),
  });
  assert.equal(lp.statusCode, 204, lp.body);
  assert.equal(lp.body, '');
  assert.equal(lp.headers['x-sensorpipe-accepted'], '3');

  await sp.writer.drain();
  const stored = await rows<{ sensor_id: string; metric: string; ts: string; value: number; source: string }>(
    sp,
    'select sensor_id, metric, ts, value, source from readings order by sensor_id, metric, ts',
  );
  assert.deepEqual(
    stored.map((r) => [r.sensor_id, r.metric, Date.parse(r.ts), r.value, r.source]),
    [
      ['10e2073a01080063', 'current', T0 + MIN, 1.2, 'http'],
      ['10e2073a01080063', 'voltage', T0, 120.1, 'http'],
      ['box-1', 'cpu_usage_idle', T0, 97.125, 'http'],
      ['j-1', 'humidity', T0, 40.5, 'http'],
      ['j-1', 'temperature', T0, 21.25, 'http'],
      ['j-2', 'co2', T0, 412, 'http'],
      ['l-1', 'weather_pressure', T0, 1013, 'http'],
      ['l-1', 'weather_temperature', T0, 19.5, 'http'],
      ['n-1', 'temperature', T0, -3.5, 'http'],
      ['n-1', 'temperature', T0 + MIN, -3.75, 'http'],
    ],
  );

  // A mixed batch per format: what the answer says is exactly what is stored.
  const before = (await rows<{ n: number }>(sp, 'select count(*)::int n from readings'))[0].n;
  const answers: IngestAnswer[] = [];
  const mixedJson = await post(sp, '/v1/ingest', {
    token: admin,
    body: JSON.stringify([
      { sensor_id: 'mix-1', ts: iso(T0), temperature: 20, humidity: 140 }, // 1 + out_of_range
      { sensor_id: 'mix-1', ts: '2024-05-01 12:00', temperature: 20 }, // bad_timestamp
      { ts: iso(T0), temperature: 20 }, // schema: no sensor over HTTP
      { sensor_id: 'bad id', ts: iso(T0), temperature: 20 }, // invalid_id
      { sensor_id: 'mix-1', ts: iso(T0 + MIN), temperature: 'warm', co2: 400 }, // non_finite + 1
    ]),
  });
  answers.push(mixedJson.json());
  const mixedNd = await post(sp, '/v1/ingest', {
    token: admin,
    type: 'application/x-ndjson',
    body: `{"sensor_id":"mix-2","ts":"${iso(T0)}","temperature":1}\n{broken\n{"sensor_id":"mix-2","ts":"${iso(Date.now() + 3600_000)}","temperature":1}\n`,
  });
  answers.push(mixedNd.json());
  const mixedSenml = await post(sp, '/v1/ingest/senml', {
    token: admin,
    body: JSON.stringify([{ bn: 'mix-3/', bt: T0 / 1000, n: 'temperature', v: 1 }, { n: 'door', vb: true }, { n: 'x', v: null }]),
  });
  answers.push(mixedSenml.json());
  assert.deepEqual(
    answers.map((a) => [a.accepted, a.quarantined, a.reasons]),
    [
      [2, 5, { out_of_range: 1, bad_timestamp: 1, schema: 1, invalid_id: 1, non_finite: 1 }],
      [1, 2, { invalid_json: 1, future_timestamp: 1 }],
      [1, 2, { schema: 1, non_finite: 1 }],
    ],
  );
  assert.ok(answers[0].items.every((i) => i.detail.startsWith('record #')));
  const mixedLp = await post(sp, '/api/v2/write', {
    token: admin,
    type: 'text/plain',
    body: `m,host=mix-4 a=1,b="text",c=NaN ${T0}000000\nnot line protocol\nm,site=x a=1\n`,
  });
  assert.equal(mixedLp.statusCode, 204);
  assert.equal(mixedLp.headers['x-sensorpipe-accepted'], '1');
  assert.equal(mixedLp.headers['x-sensorpipe-quarantined'], '4');

  await sp.writer.drain();
  const after = (await rows<{ n: number }>(sp, 'select count(*)::int n from readings'))[0].n;
  assert.equal(after - before, 2 + 1 + 1 + 1, 'accepted readings stored');
  const q = await rows<{ topic: string; reason: string; n: number }>(sp, 'select topic, reason, count(*)::int n from quarantine group by all order by all');
  const qBy = (topic: string) => Object.fromEntries(q.filter((r) => r.topic === topic).map((r) => [r.reason, r.n]));
  assert.deepEqual(qBy('http:/v1/ingest'), answers[0].reasons);
  assert.deepEqual(qBy('http:/v1/ingest?format=ndjson'), answers[1].reasons);
  assert.deepEqual(qBy('http:/v1/ingest/senml'), answers[2].reasons);
  assert.deepEqual(qBy('http:/api/v2/write?precision=ns'), { schema: 3, non_finite: 1 });

  const a = await accounting(sp);
  assertIdentity(a);
  assert.equal(a.accepted, 10 + 5);
  assert.equal(a.quarantined, 5 + 2 + 2 + 4);
  assert.equal(a.rejected, 0);
});

test('auth: 401/403; device tokens write only their device\'s sensors (identity_mismatch otherwise)', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  await sp.auth.addDevice('gw-1', ['room-1', 'room-2']);
  const device = sp.auth.createToken('device', 'gw-1 ingest', Date.now(), 'gw-1');
  const looseDevice = sp.auth.createToken('device');
  const analyst = sp.auth.createToken('analyst');
  const body = (sensor: string) => JSON.stringify({ sensor_id: sensor, ts: iso(T0), temperature: 20 });

  assert.equal((await post(sp, '/v1/ingest', { token: null, body: body('room-1') })).statusCode, 401);
  assert.equal((await post(sp, '/v1/ingest', { token: 'spt_nope', body: body('room-1') })).statusCode, 401);
  // the InfluxDB "Token" scheme is for /api/v2/write only
  assert.equal((await post(sp, '/v1/ingest', { token: device, scheme: 'Token', body: body('room-1') })).statusCode, 401);
  const an = await post(sp, '/v1/ingest', { token: analyst, body: body('room-1') });
  assert.equal(an.statusCode, 403);
  assert.match(an.json<{ message: string }>().message, /role analyst may not call this/);
  const loose = await post(sp, '/v1/ingest/senml', { token: looseDevice, body: '[]' });
  assert.equal(loose.statusCode, 403);
  assert.match(loose.json<{ message: string }>().message, /not tied to a device/);
  const influx401 = await post(sp, '/api/v2/write', { token: null, type: 'text/plain', body: 'm,host=room-1 v=1' });
  assert.deepEqual(influx401.json(), { code: 'unauthorized', message: influx401.json<{ message: string }>().message });

  const own = await post(sp, '/v1/ingest', { token: device, body: JSON.stringify([JSON.parse(body('room-1')), JSON.parse(body('room-9'))]) });
  assert.equal(own.statusCode, 200);
  const ans = own.json<IngestAnswer>();
  assert.equal(ans.accepted, 1);
  assert.deepEqual(ans.reasons, { identity_mismatch: 1 });
  assert.match(ans.items[0].detail, /sensor "room-9" is not one of the sensors this device's token may write/);
  const lp = await post(sp, '/api/v2/write', { token: device, scheme: 'Token', type: 'text/plain', body: `m,host=room-2 v=1 ${T0}000000\nm,host=room-3 v=1 ${T0}000000` });
  assert.equal(lp.statusCode, 204);
  assert.equal(lp.headers['x-sensorpipe-quarantined'], '1');
  const senml = await post(sp, '/v1/ingest/senml', { token: device, body: JSON.stringify([{ bn: 'room-2/', bt: T0 / 1000, n: 'co2', v: 400 }, { bn: 'boiler/', n: 'co2', v: 1 }]) });
  assert.deepEqual(senml.json<IngestAnswer>().reasons, { identity_mismatch: 1 });

  await sp.writer.drain();
  const msgs = await rows<{ device_id: string; sensor_id: string }>(sp, "select device_id, sensor_id from quarantine where reason = 'identity_mismatch' order by sensor_id");
  assert.deepEqual(
    msgs.map((m) => [m.device_id, m.sensor_id]),
    [
      ['gw-1', 'boiler'],
      ['gw-1', 'room-3'],
      ['gw-1', 'room-9'],
    ],
  );

  // Removing the device removes its tokens.
  sp.auth.removeDevice('gw-1');
  assert.equal((await post(sp, '/v1/ingest', { token: device, body: body('room-1') })).statusCode, 401);

  const a = await accounting(sp);
  assertIdentity(a);
  const rej = Object.fromEntries(a.byReason.filter((r) => r.outcome === 'rejected').map((r) => [r.reason, r.items]));
  assert.deepEqual(rej, { auth_failed: 5, not_authorized: 2 });
});

test('limits and formats: 413, 415, 400, gzip accepted, a gzip bomb gets 413 with bounded memory', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { http: { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, maxDecompressedBytes: 1024 * 1024 } });
  t.after(() => sp.stop());
  const admin = sp.auth.createToken('admin');
  const base = `http://127.0.0.1:${sp.httpPort}`;

  // gzip: a body bigger than maxBodyBytes inflated, well under it compressed
  const records = Array.from({ length: 2000 }, (_, i) => ({ sensor_id: 'gz-1', ts: iso(T0 + i * 1000), temperature: 20 + (i % 10) / 4 }));
  const plain = Buffer.from(JSON.stringify(records));
  assert.ok(plain.length > 64 * 1024);
  const gz = await post(sp, '/v1/ingest', { token: admin, headers: { 'content-encoding': 'gzip' }, body: gzipSync(plain) });
  assert.equal(gz.statusCode, 200, gz.body);
  assert.equal(gz.json<IngestAnswer>().accepted, 2000);

  // 413: declared length, and a chunked body without a length, over maxBodyBytes
  const big = await post(sp, '/v1/ingest', { token: admin, body: plain });
  assert.equal(big.statusCode, 413);
  assert.match(big.json<{ message: string }>().message, /http\.maxBodyBytes \(65536 bytes\)/);
  const chunked = await fetch(`${base}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < 100; i++) c.enqueue(new Uint8Array(1024).fill(0x20));
        c.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  const lp413 = await post(sp, '/api/v2/write', { token: admin, type: 'text/plain', body: Buffer.alloc(70_000, 'm,host=a v=1\n') });
  assert.deepEqual(Object.keys(lp413.json()), ['code', 'message']);
  assert.equal(lp413.json<{ code: string }>().code, 'request too large');

  // 415: unknown content type or encoding; SenML CBOR; a non-UTF-8 charset
  for (const [url, type, enc] of [
    ['/v1/ingest', 'text/csv', undefined],
    ['/v1/ingest', 'application/senml+json', undefined],
    ['/v1/ingest/senml', 'application/senml+cbor', undefined],
    ['/v1/ingest', 'application/json; charset=latin1', undefined],
    ['/v1/ingest', 'application/json', 'br'],
    ['/api/v2/write', 'application/json', undefined],
  ] as const) {
    const r = await post(sp, url, { token: admin, type, body: '[]', headers: enc ? { 'content-encoding': enc } : {} });
    assert.equal(r.statusCode, 415, `${url} ${type} ${enc}`);
  }
  const missing = await post(sp, '/v1/ingest', { token: admin, type: null, body: '{}' });
  assert.equal(missing.statusCode, 415);
  assert.match(missing.json<{ message: string }>().message, /Content-Type header is required/);
  // without a Content-Type, line protocol is still read (curl --data-binary without -H does that)
  assert.equal((await post(sp, '/api/v2/write', { token: admin, type: null, body: `m,host=a v=1 ${T0}000000` })).statusCode, 204);

  // 400: empty body, broken gzip, bad precision
  assert.equal((await post(sp, '/v1/ingest', { token: admin, body: '' })).statusCode, 400);
  const broken = await post(sp, '/v1/ingest', { token: admin, headers: { 'content-encoding': 'gzip' }, body: 'not gzip' });
  assert.equal(broken.statusCode, 400);
  assert.match(broken.json<{ message: string }>().message, /not valid gzip/);
  const prec = await post(sp, '/api/v2/write?precision=h', { token: admin, type: 'text/plain', body: 'm,host=a v=1' });
  assert.deepEqual(prec.json(), { code: 'invalid', message: 'precision "h" is not one of ns, us, ms, s' });

  // A gzip bomb over a real socket: 50 MB of zeros in ~50 kB. 413 once 1 MiB is inflated, and the
  // process (server in it) grows by far less than the inflated size.
  const bombParts: Buffer[] = [];
  const gzip = createGzip();
  gzip.on('data', (c: Buffer) => bombParts.push(c));
  const zeros = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < 50; i++) gzip.write(zeros);
  await new Promise<void>((resolve) => gzip.end(resolve));
  const bomb = Buffer.concat(bombParts);
  assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes compressed`);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 1);
  const boom = await fetch(`${base}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: bomb,
  });
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.equal(boom.status, 413);
  const boomBody = (await boom.json()) as { error: string; message: string };
  assert.equal(boomBody.error, 'payload_too_large');
  assert.match(boomBody.message, /inflates to more than http\.maxDecompressedBytes \(1048576 bytes\)/);
  assert.ok(peak - rss0 < 30 * 1024 * 1024, `rss grew by ${((peak - rss0) / 1048576).toFixed(1)} MiB while refusing a 50 MB bomb`);

  const a = await accounting(sp);
  assertIdentity(a);
  const rej = Object.fromEntries(a.byReason.filter((r) => r.outcome === 'rejected').map((r) => [r.reason, r.items]));
  assert.deepEqual(rej, { body_too_large: 4, unsupported_media_type: 7, bad_request: 3 });
  assert.equal(a.accepted, 2001);
});

test('a full spool answers 503 with Retry-After, stores nothing, and recovers; a disk fault answers 500', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { spool: { maxBytes: 20_000 } });
  t.after(() => sp.stop());
  const admin = sp.auth.createToken('admin');
  await sp.writer.stop({ drain: false }); // a sink that is not keeping up

  const body = (i: number) => JSON.stringify({ sensor_id: 'bp-1', ts: iso(T0 + i * 1000), seq: i, temperature: 20 + (i % 10) });
  let acked = 0;
  let full: Awaited<ReturnType<typeof post>> | null = null;
  for (let i = 0; i < 1000 && !full; i++) {
    const r = await post(sp, '/v1/ingest', { token: admin, body: body(i) });
    if (r.statusCode === 200) acked++;
    else full = r;
  }
  assert.ok(full, 'the spool filled up');
  assert.ok(acked > 0);
  assert.equal(full.statusCode, 503);
  assert.equal(full.headers['retry-after'], '5');
  assert.match(full.json<{ message: string }>().message, /spool is full/);
  const influx = await post(sp, '/api/v2/write', { token: admin, scheme: 'Token', type: 'text/plain', body: `m,host=bp-1 v=1 ${T0}000000` });
  assert.equal(influx.statusCode, 503);
  assert.equal(influx.headers['retry-after'], '5');
  assert.equal(influx.json<{ code: string }>().code, 'unavailable');

  // writers catch up; the refused request is retried and now stored
  sp.writer.start();
  await sp.writer.drain();
  const retry = await post(sp, '/v1/ingest', { token: admin, body: body(acked) });
  assert.equal(retry.statusCode, 200);
  await sp.writer.drain();
  const [{ n }] = await rows<{ n: number }>(sp, "select count(*)::int n from readings where sensor_id = 'bp-1'");
  assert.equal(n, acked + 1, 'every acknowledged request is stored, and the retried one too');
  const live = (await sp.status()) as { live: { byReason: { source: string; reason: string; items: number }[] } };
  assert.equal(live.live.byReason.find((x) => x.source === 'http' && x.reason === 'spool_full')?.items, 2, 'refusals counted live');

  // A disk fault: never 2xx, an operator-readable 500, nothing stored.
  const append = sp.spool.append.bind(sp.spool);
  sp.spool.append = async () => {
    throw new Error('SQLITE_IOERR: disk I/O error');
  };
  const fault = await post(sp, '/v1/ingest', { token: admin, body: body(5000) });
  const faultLp = await post(sp, '/api/v2/write', { token: admin, type: 'text/plain', body: `m,host=bp-1 v=1 ${T0}000000` });
  sp.spool.append = append;
  assert.equal(fault.statusCode, 500);
  assert.match(fault.json<{ message: string }>().message, /could not store the request durably \(SQLITE_IOERR: disk I\/O error\); nothing was acknowledged/);
  assert.equal(faultLp.statusCode, 500);
  assert.equal(faultLp.json<{ code: string }>().code, 'internal error');
  await sp.writer.drain();
  const [{ n: n2 }] = await rows<{ n: number }>(sp, "select count(*)::int n from readings where sensor_id = 'bp-1'");
  assert.equal(n2, acked + 1);
  assertIdentity(await accounting(sp));
});
