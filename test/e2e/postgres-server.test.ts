// A whole server with `warehouse.kind: postgres` (a fresh schema in database `test`): HTTP ingest
// lands in PostgreSQL with duplicates and conflicts handled, the query API, catalog, quarantine
// (list and replay) and analyst SQL work on it, the jobs aggregate it, and no DuckDB file is made.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';
import { TEST_PG, dropSchema, freshSchemaName, requirePostgres } from '../helpers/postgres.js';
import { startServer, tempDir } from '../helpers/server.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

function client(sp: Sensorpipe, token: string) {
  return (method: 'GET' | 'POST', url: string, body?: unknown) =>
    sp.http!.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
}

if (requirePostgres('server with the PostgreSQL warehouse')) {
  test('server on PostgreSQL: ingest, dedup, query API, catalog, quarantine replay, analyst SQL, jobs', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const schema = freshSchemaName();
    t.after(() => dropSchema(schema));
    const sp = await startServer(tmp.dir, { warehouse: { kind: 'postgres', postgres: { url: TEST_PG.url, schema, poolSize: 2 } } });
    t.after(() => sp.stop());
    assert.equal(sp.warehouse.kind, 'postgres');

    const admin = client(sp, sp.auth.createToken('admin'));
    const analyst = client(sp, sp.auth.createToken('analyst'));
    const r = await admin('POST', '/v1/ingest', [
      { sensor_id: 'pg-1', ts: iso(T0), temperature: 10 },
      { sensor_id: 'pg-1', ts: iso(T0 + 30_000), temperature: 20, humidity: 50 },
      { sensor_id: 'pg-1', ts: iso(T0 + MIN), temperature: 30 },
      { sensor_id: 'pg-1', ts: iso(T0), temperature: 10 }, // exact repeat: a duplicate
      { sensor_id: 'pg-1', ts: iso(T0 + MIN), temperature: 31 }, // a conflict: quarantined, 30 stays
      { sensor_id: 'pg-2', ts: iso(T0), temperature: 99 },
    ]);
    assert.equal(r.statusCode, 200, r.body);
    await sp.writer.drain();

    const sql = async (q: string) => {
      const res = await analyst('POST', '/v1/sql', { sql: q });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().rows as Record<string, unknown>[];
    };
    assert.deepEqual(await sql('SELECT sensor_id, metric, ts, value FROM readings ORDER BY sensor_id, metric, ts'), [
      { sensor_id: 'pg-1', metric: 'humidity', ts: iso(T0 + 30_000), value: 50 },
      { sensor_id: 'pg-1', metric: 'temperature', ts: iso(T0), value: 10 },
      { sensor_id: 'pg-1', metric: 'temperature', ts: iso(T0 + 30_000), value: 20 },
      { sensor_id: 'pg-1', metric: 'temperature', ts: iso(T0 + MIN), value: 30 },
      { sensor_id: 'pg-2', metric: 'temperature', ts: iso(T0), value: 99 },
    ]);
    const refused = await analyst('POST', '/v1/sql', { sql: "SELECT pg_read_file('/etc/passwd')" });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal((await analyst('POST', '/v1/sql', { sql: 'DELETE FROM readings' })).statusCode, 403);

    const raw = await analyst('GET', `/v1/readings?sensor=pg-1&metric=temperature&from=${iso(T0)}&to=${iso(T0 + HOUR)}&resolution=raw`);
    assert.equal(raw.statusCode, 200, raw.body);
    assert.deepEqual(raw.json().points.map((p: { value: number }) => p.value), [10, 20, 30]);
    const m1 = await analyst('GET', `/v1/readings?sensor=pg-1&metric=temperature&from=${iso(T0)}&to=${iso(T0 + HOUR)}&resolution=1m`);
    assert.equal(m1.statusCode, 200, m1.body);
    assert.deepEqual(m1.json().points.map((p: { count: number; first: number; last: number }) => [p.count, p.first, p.last]), [[2, 10, 20], [1, 30, 30]]);

    const cat = await analyst('GET', '/v1/catalog');
    assert.equal(cat.statusCode, 200, cat.body);
    const readings = cat.json().datasets.find((d: { name: string }) => d.name === 'readings');
    assert.equal(readings.rows, 5);
    assert.ok(readings.columns.some((c: { name: string }) => c.name === 'spool_offset'));

    const q = await admin('GET', '/v1/quarantine');
    assert.equal(q.statusCode, 200, q.body);
    assert.deepEqual(q.json().counts, { conflicting_duplicate: 1 });
    const item = q.json().items[0];
    assert.equal(item.sensor_id, 'pg-1');
    const replay = await admin('POST', '/v1/quarantine/replay', { ids: [item.id] });
    assert.equal(replay.statusCode, 200, replay.body);
    await sp.writer.drain();
    // The replayed row is marked; replaying the conflict quarantines it again, as a new row.
    const after = (await admin('GET', '/v1/quarantine')).json().items as { id: number; replayed_at: string | null }[];
    assert.notEqual(after.find((i) => i.id === item.id)?.replayed_at ?? null, null);
    assert.equal(after.length, 2);

    const acc = await sp.warehouse.accounting();
    const sum = (o: string) => acc.filter((a) => a.outcome === o).reduce((n, a) => n + a.items, 0);
    assert.ok(sum('duplicate') >= 1);
    assert.ok(sum('quarantined') >= 1);

    // The jobs run on PostgreSQL through the scheduler.
    const run = await sp.scheduler.runRange(sp.scheduler.planRange('resample', { from: T0, to: T0 + HOUR }));
    assert.equal(run.failed, 0);
    assert.deepEqual(await sql(`SELECT bucket, count, first, last FROM readings_1m WHERE sensor_id = 'pg-1' AND metric = 'temperature' ORDER BY bucket`), [
      { bucket: iso(T0), count: 2, first: 10, last: 20 },
      { bucket: iso(T0 + MIN), count: 1, first: 30, last: 30 },
    ]);
    assert.equal(existsSync(sp.paths.warehouse), false, 'no DuckDB file when the warehouse is PostgreSQL');
  });
}
