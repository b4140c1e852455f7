import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir } from '../helpers/server.js';

test('POST /v1/sql: roles, read-only gate, row cap; GET /healthz', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { sql: { maxRows: 3, timeoutMs: 5000 } });
  t.after(() => sp.stop());
  const app = sp.http!;
  const analyst = sp.auth.createToken('analyst');
  const device = sp.auth.createToken('device');
  const sql = (token: string | null, body: unknown) =>
    app.inject({ method: 'POST', url: '/v1/sql', headers: token ? { authorization: `Bearer ${token}` } : {}, payload: body as object });

  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.equal((await sql(null, { sql: 'select 1' })).statusCode, 401);
  assert.equal((await sql('spt_nope', { sql: 'select 1' })).statusCode, 401);
  assert.equal((await sql(device, { sql: 'select 1' })).statusCode, 403);

  const ok = await sql(analyst, { sql: 'select range as n from range(10)' });
  assert.equal(ok.statusCode, 200);
  const body = ok.json() as { columns: string[]; rows: { n: number }[]; truncated: boolean };
  assert.deepEqual(body.columns, ['n']);
  assert.deepEqual(body.rows.map((r) => r.n), [0, 1, 2]);
  assert.equal(body.truncated, true);

  for (const bad of ['drop table readings', "copy readings to '/tmp/x.csv'", "select * from read_csv('/etc/passwd')", 'select 1; select 2']) {
    const r = await sql(analyst, { sql: bad });
    assert.ok([400, 403].includes(r.statusCode), `${bad} -> ${r.statusCode}`);
    assert.ok((r.json() as { message: string }).message.length > 10);
  }
  assert.equal((await sql(analyst, { nope: 1 })).statusCode, 400);
});
