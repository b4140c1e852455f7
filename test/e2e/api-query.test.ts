// Query API end to end: the real app with a real DuckDB warehouse in a temp dir (app.inject).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startServer, tempDir } from '../helpers/server.js';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR; // two hours ago, on an hour boundary
const iso = (ms: number) => new Date(ms).toISOString();

function client(sp: Sensorpipe, token: string) {
  return (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) =>
    sp.http!.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
}

async function ingest(sp: Sensorpipe, token: string, records: object[]) {
  const r = await client(sp, token)('POST', '/v1/ingest', records);
  assert.equal(r.statusCode, 200, r.body);
  await sp.writer.drain();
  return r.json() as { accepted: number; quarantined: number };
}

test('GET /v1/readings: raw, 1m on the fly, auto resolution, CSV and Parquet with exact values', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  const admin = sp.auth.createToken('admin');
  const get = (url: string) => client(sp, sp.auth.createToken('analyst'))('GET', url);
  await ingest(sp, admin, [
    { sensor_id: 'r-1', ts: iso(T0), temperature: 10 },
    { sensor_id: 'r-1', ts: iso(T0 + 30_000), temperature: 20, humidity: 50 },
    { sensor_id: 'r-1', ts: iso(T0 + MIN), temperature: 30 },
    { sensor_id: 'r-1', ts: iso(T0 + 2 * MIN), temperature: 40 },
    { sensor_id: 'r-2', ts: iso(T0), temperature: 99 },
  ]);
  const range = `from=${iso(T0)}&to=${iso(T0 + HOUR)}`;

  const raw = await get(`/v1/readings?sensor=r-1&metric=temperature&${range}&resolution=raw`);
  assert.equal(raw.statusCode, 200, raw.body);
  const rawBody = raw.json();
  assert.equal(rawBody.resolution, 'raw');
  assert.equal(rawBody.source, 'readings');
  assert.deepEqual(rawBody.points, [
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0), value: 10 },
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0 + 30_000), value: 20 },
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0 + MIN), value: 30 },
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0 + 2 * MIN), value: 40 },
  ]);
  // auto over one hour: 60 minutes < 300 points -> raw
  assert.equal((await get(`/v1/readings?sensor=r-1&metric=temperature&${range}`)).json().resolution, 'raw');

  const m1 = (await get(`/v1/readings?sensor=r-1&metric=temperature&${range}&resolution=1m`)).json();
  assert.equal(m1.resolution, '1m');
  assert.match(m1.source, /readings/);
  assert.deepEqual(m1.points, [
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0), count: 2, min: 10, max: 20, avg: 15, sum: 30, first: 10, last: 20 },
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0 + MIN), count: 1, min: 30, max: 30, avg: 30, sum: 30, first: 30, last: 30 },
    { sensor_id: 'r-1', metric: 'temperature', ts: iso(T0 + 2 * MIN), count: 1, min: 40, max: 40, avg: 40, sum: 40, first: 40, last: 40 },
  ]);
  const h1 = (await get(`/v1/readings?sensor=r-1&${range}&resolution=1h`)).json();
  assert.deepEqual(
    h1.points.map((p: Record<string, unknown>) => [p.metric, p.ts, p.count, p.avg]),
    [
      ['humidity', iso(T0), 1, 50],
      ['temperature', iso(T0), 4, 25],
    ],
  );

  // auto picks the coarsest level with >= 300 points
  const auto = async (spanMs: number) =>
    (await get(`/v1/readings?sensor=r-1&from=${T0 - spanMs}&to=${T0 + HOUR}`)).json().resolution as string;
  assert.equal(await auto(23 * HOUR), '1m'); // 1440 minutes, 24 hours
  assert.equal(await auto(30 * 24 * HOUR), '1h'); // 721 hours
  assert.equal(await auto(400 * 24 * HOUR), '1d');

  const csv = await get(`/v1/readings?sensor=r-1&metric=temperature&${range}&resolution=raw&format=csv`);
  assert.equal(csv.statusCode, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  assert.equal(
    csv.body,
    `sensor_id,metric,ts,value\r\nr-1,temperature,${iso(T0)},10\r\nr-1,temperature,${iso(T0 + 30_000)},20\r\n` +
      `r-1,temperature,${iso(T0 + MIN)},30\r\nr-1,temperature,${iso(T0 + 2 * MIN)},40\r\n`,
  );

  const pq = await get(`/v1/readings?sensor=r-1&metric=temperature&${range}&resolution=1m&format=parquet`);
  assert.equal(pq.statusCode, 200);
  assert.equal(pq.headers['content-type'], 'application/vnd.apache.parquet');
  const buf = pq.rawPayload;
  assert.equal(buf.subarray(0, 4).toString(), 'PAR1');
  // read back with a separate DuckDB (zstd)
  const path = join(tmp.dir, 'export.parquet');
  writeFileSync(path, buf);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const objs = (
    await conn.runAndReadAll(`select metric, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') as ts, count, avg, first, last, typeof(ts) as tt from read_parquet('${path}') order by ts`)
  ).getRowObjects();
  conn.closeSync();
  db.closeSync();
  assert.equal(objs[0]!.tt, 'TIMESTAMP');
  assert.deepEqual(
    objs.map((o) => [o.metric, o.ts, Number(o.count), o.avg, o.first, o.last]),
    [
      ['temperature', iso(T0), 2, 15, 10, 20],
      ['temperature', iso(T0 + MIN), 1, 30, 30, 30],
      ['temperature', iso(T0 + 2 * MIN), 1, 40, 40, 40],
    ],
  );

  // bad parameters
  assert.equal((await get('/v1/readings')).statusCode, 400);
  assert.equal((await get("/v1/readings?sensor=a'b")).statusCode, 400);
  assert.equal((await get('/v1/readings?sensor=r-1&from=yesterday-ish')).statusCode, 400);
  assert.equal((await get(`/v1/readings?sensor=r-1&from=${T0 + 1}&to=${T0}`)).statusCode, 400);
  assert.equal((await get('/v1/readings?sensor=r-1&resolution=5m')).statusCode, 400);
});

test('sensors: PUT (admin) updates warehouse and validation registry; quarantine list, counts and replay', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  const admin = client(sp, sp.auth.createToken('admin'));
  const analyst = client(sp, sp.auth.createToken('analyst'));
  const adminToken = sp.auth.createToken('admin');

  const put = await admin('PUT', '/v1/sensors/q-1', { location: 'lab 2', type: 'thermo', expected_interval_s: 60, metrics: { temperature: { unit: '°C', min: 0, max: 25 } } });
  assert.equal(put.statusCode, 201, put.body);
  assert.deepEqual(sp.registry.get('q-1'), {
    sensorId: 'q-1',
    location: 'lab 2',
    type: 'thermo',
    expectedIntervalS: 60,
    metrics: { temperature: { unit: '°C', min: 0, max: 25 } },
  });
  assert.equal((await analyst('PUT', '/v1/sensors/q-1', { location: 'x' })).statusCode, 403);
  assert.equal((await admin('PUT', '/v1/sensors/q-1', { metrics: { temperature: { min: 5, max: 1 } } })).statusCode, 400);

  // 30 > 25: quarantined as out_of_range by the registry set through the API
  const first = await ingest(sp, adminToken, [
    { sensor_id: 'q-1', ts: iso(T0), temperature: 20 },
    { sensor_id: 'q-1', ts: iso(T0 + MIN), temperature: 30 },
  ]);
  assert.deepEqual([first.accepted, first.quarantined], [1, 1]);

  const one = (await analyst('GET', '/v1/sensors/q-1')).json();
  assert.deepEqual(one, {
    sensor_id: 'q-1',
    location: 'lab 2',
    type: 'thermo',
    expected_interval_s: 60,
    last_seen: iso(T0),
    last_received_at: one.last_received_at,
    metrics: [{ metric: 'temperature', unit: '°C', min: 0, max: 25, readings: 1, last_seen: iso(T0) }],
  });
  assert.equal((await analyst('GET', '/v1/sensors/nope')).statusCode, 404);
  const list = (await analyst('GET', '/v1/sensors')).json() as { sensors: { sensor_id: string }[] };
  assert.deepEqual(list.sensors.map((s) => s.sensor_id), ['q-1']);

  const q1 = (await analyst('GET', '/v1/quarantine?sensor=q-1')).json();
  assert.equal(q1.total, 1);
  assert.deepEqual(q1.counts, { out_of_range: 1 });
  assert.equal(q1.items[0].reason, 'out_of_range');
  assert.equal(q1.items[0].ts, iso(T0 + MIN));
  assert.equal(q1.items[0].replayed_at, null);
  const id = q1.items[0].id as number;
  assert.equal((await analyst('GET', '/v1/quarantine?reason=bad-code!')).statusCode, 400);
  assert.equal((await analyst('POST', '/v1/quarantine/replay', { ids: [id] })).statusCode, 403);

  // widen the range, replay: accepted
  assert.equal((await admin('PUT', '/v1/sensors/q-1', { metrics: { temperature: { max: 50 } } })).statusCode, 200);
  assert.equal(sp.registry.get('q-1')!.metrics.temperature!.max, 50);
  assert.equal(sp.registry.get('q-1')!.metrics.temperature!.unit, '°C');
  const rep = await admin('POST', '/v1/quarantine/replay', { ids: [id, 987654] });
  assert.equal(rep.statusCode, 200, rep.body);
  assert.deepEqual(rep.json(), {
    replayed: 1,
    accepted: 1,
    quarantined: 0,
    results: [
      { id, outcome: 'accepted', accepted: 1, quarantined: 0, reasons: {}, details: [] },
      { id: 987654, outcome: 'not_found', accepted: 0, quarantined: 0, reasons: {}, details: [] },
    ],
  });
  await sp.writer.drain();
  const raw = (await analyst('GET', `/v1/readings?sensor=q-1&from=${T0}&to=${T0 + HOUR}&resolution=raw`)).json();
  assert.deepEqual(raw.points.map((p: { value: number }) => p.value), [20, 30]);
  // a replayed row is marked, kept, and never replayed twice
  const again = (await admin('POST', '/v1/quarantine/replay', { ids: [id] })).json();
  assert.equal(again.results[0].outcome, 'already_replayed');
  const marked = (await analyst('GET', '/v1/quarantine?sensor=q-1')).json();
  assert.equal(marked.total, 1);
  assert.notEqual(marked.items[0].replayed_at, null);

  // still out of range after the change: quarantined again, with its reason
  await ingest(sp, adminToken, [{ sensor_id: 'q-1', ts: iso(T0 + 2 * MIN), temperature: 100 }]);
  const byFilter = (await admin('POST', '/v1/quarantine/replay', { filter: { sensor: 'q-1', reason: 'out_of_range' } })).json();
  assert.equal(byFilter.replayed, 1);
  assert.equal(byFilter.quarantined, 1);
  assert.equal(byFilter.results[0].outcome, 'quarantined');
  assert.deepEqual(byFilter.results[0].reasons, { out_of_range: 1 });
  await sp.writer.drain();
  const after = (await analyst('GET', '/v1/quarantine?sensor=q-1')).json();
  assert.equal(after.total, 3); // the two originals (marked) and the replay's new row
  assert.deepEqual(
    after.items.map((i: { source: string; replayed_at: string | null }) => [i.source, i.replayed_at === null]),
    [
      ['replay', true],
      ['http', false],
      ['http', false],
    ],
  );
  assert.equal((await admin('POST', '/v1/quarantine/replay', { ids: [1], filter: {} })).statusCode, 400);

  // catalog: tables with engine types, descriptions, counts, freshness; lake prefixes; lineage
  const cat = (await analyst('GET', '/v1/catalog')).json() as {
    datasets: { name: string; kind: string; rows: number | null; description: string | null; freshness: Record<string, string | null> | null; columns: { name: string; type: string; description: string | null }[] }[];
    lineage: { from: string; to: string }[];
  };
  const readings = cat.datasets.find((d) => d.name === 'readings')!;
  assert.equal(readings.kind, 'table');
  assert.equal(readings.rows, 2);
  assert.equal(readings.freshness!.max_ts, iso(T0 + MIN));
  assert.deepEqual(readings.columns.find((c) => c.name === 'value'), { name: 'value', type: 'DOUBLE', description: 'Measured value' });
  const quarantine = cat.datasets.find((d) => d.name === 'quarantine')!;
  assert.equal(quarantine.rows, 3);
  assert.equal(quarantine.columns.find((c) => c.name === 'replayed_at')!.type, 'TIMESTAMP');
  assert.equal(cat.datasets.find((d) => d.name === 'v_hourly')!.kind, 'view');
  assert.deepEqual(cat.datasets.filter((d) => d.kind === 'lake').map((d) => d.name), ['lake:raw', 'lake:quarantine', 'lake:aggregates', 'lake:archive/raw', 'lake:archive/quarantine']);
  for (const [from, to] of [['lake:raw', 'readings'], ['readings', 'readings_1m'], ['readings_1m', 'readings_1h'], ['readings_1h', 'readings_1d'], ['readings_1d', 'export:readings']]) {
    assert.ok(cat.lineage.some((e) => e.from === from && e.to === to), `${from} -> ${to}`);
  }
});

test('GET /v1/readings aggregates: the table up to covered_until, raw on the fly after it, and without the table', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const off = { enabled: false };
  const sp = await startServer(tmp.dir, { jobs: { resample: off, rollup_1h: off, rollup_1d: off } });
  t.after(() => sp.stop());
  const admin = sp.auth.createToken('admin');
  const get = async (url: string) => (await client(sp, admin)('GET', url)).json();
  await ingest(sp, admin, [
    { sensor_id: 'a-1', ts: iso(T0), temperature: 10 },
    { sensor_id: 'a-1', ts: iso(T0 + MIN), temperature: 30 },
    { sensor_id: 'a-1', ts: iso(T0 + 2 * MIN), temperature: 40 },
  ]);
  // A 1m row the "jobs" wrote (values that raw readings would not give) and how far they got.
  await sp.warehouse.jobTransaction(async (tx) => {
    await tx.run(
      `INSERT INTO readings_1m VALUES ('a-1', 'temperature', CAST($1 AS TIMESTAMP), 7, 1, 2, 1.5, 10.5, 1, 2)`,
      [iso(T0).replace('Z', '')],
    );
    await tx.run('DELETE FROM aggregate_state WHERE level = $1', ['1m']);
    await tx.run(`INSERT INTO aggregate_state (level, covered_until, updated_at) VALUES ('1m', CAST($1 AS TIMESTAMP), now())`, [iso(T0 + MIN).replace('Z', '')]);
  });
  const url = `/v1/readings?sensor=a-1&metric=temperature&from=${iso(T0)}&to=${iso(T0 + HOUR)}&resolution=1m`;
  const mixed = await get(url);
  assert.equal(mixed.source, `readings_1m until ${iso(T0 + MIN)}, then readings (aggregated on the fly)`);
  assert.deepEqual(
    mixed.points.map((p: Record<string, unknown>) => [p.ts, p.count, p.avg]),
    [
      [iso(T0), 7, 1.5],
      [iso(T0 + MIN), 1, 30],
      [iso(T0 + 2 * MIN), 1, 40],
    ],
  );
  // covered past the range: all from the table
  await sp.warehouse.jobTransaction((tx) => tx.run(`UPDATE aggregate_state SET covered_until = CAST($1 AS TIMESTAMP) WHERE level = '1m'`, [iso(T0 + 2 * HOUR).replace('Z', '')]));
  const all = await get(url);
  assert.equal(all.source, 'readings_1m');
  assert.deepEqual(all.points.map((p: Record<string, unknown>) => p.ts), [iso(T0)]);
  // no aggregate table at all (an older warehouse): raw on the fly
  await sp.warehouse.jobTransaction((tx) => tx.run('DROP TABLE readings_1m'));
  const fly = await get(url);
  assert.equal(fly.source, 'readings (aggregated on the fly)');
  assert.deepEqual(fly.points.map((p: Record<string, unknown>) => [p.ts, p.count, p.avg]), [
    [iso(T0), 1, 10],
    [iso(T0 + MIN), 1, 30],
    [iso(T0 + 2 * MIN), 1, 40],
  ]);
});
