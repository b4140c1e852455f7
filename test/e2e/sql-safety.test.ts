// Issue 4 item 4: every statement of the analyst-SQL list fails safely through POST /v1/sql with an
// analyst token: 400/403/408, a clear message, and nothing happened (no file, no table dropped or
// written, no setting changed, no database attached).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { rows, startServer, tempDir } from '../helpers/server.js';

test('analyst SQL: file, network, settings, DDL/DML and a cartesian bomb all fail safely', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { sql: { maxRows: 1000, timeoutMs: 1500 } });
  t.after(() => sp.stop());
  const app = sp.http!;
  const analyst = sp.auth.createToken('analyst');
  const admin = sp.auth.createToken('admin');
  const ing = await app.inject({
    method: 'POST',
    url: '/v1/ingest',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    payload: JSON.stringify([{ sensor_id: 'safe-1', ts: new Date().toISOString(), temperature: 21.5 }]),
  });
  assert.equal(ing.statusCode, 200, ing.body);
  await sp.writer.drain();

  const out = join(tmp.dir, 'out'); // every path a statement tries to write is under here
  const before = async () => ({
    readings: await rows(sp, 'select sensor_id, metric, value from readings order by all'),
    tables: await rows(sp, "select table_name from information_schema.tables order by all"),
    dbs: await rows(sp, 'select database_name from duckdb_databases() order by all'),
    settings: await rows(
      sp,
      "select name, value from duckdb_settings() where name in ('enable_external_access','threads','memory_limit','lock_configuration','allowed_directories') order by name",
    ),
    files: readdirSync(tmp.dir).sort(),
  });
  const start = await before();
  assert.equal(start.readings.length, 1);

  const cases: [string, string, number[]][] = [
    ['read_csv', "select * from read_csv('/etc/passwd')", [403]],
    ['read_csv_auto', "select * from read_csv_auto('/etc/passwd')", [403]],
    ['read_text', "select * from read_text('/etc/passwd')", [403]],
    ['read_blob', "select * from read_blob('/etc/passwd')", [403]],
    ['glob', "select * from glob('/*')", [403]],
    ['read_parquet', `select * from read_parquet('${tmp.dir}/lake/**/*.parquet')`, [403]],
    ['file as table', "select * from '/etc/passwd'", [400, 403]],
    ['COPY TO', `copy readings to '${out}.csv'`, [403]],
    ['COPY (query) TO', `copy (select * from readings) to '${out}.parquet' (format parquet)`, [403]],
    ['COPY FROM', "copy readings from '/etc/passwd'", [403]],
    ['EXPORT DATABASE', `export database '${out}'`, [403]],
    ['ATTACH', `attach '${out}.duckdb' as x`, [403]],
    ['DETACH', 'detach memory', [400, 403]],
    ['INSTALL', 'install httpfs', [403]],
    ['LOAD', 'load httpfs', [403]],
    ['URL as table', "select * from 'http://127.0.0.1:1/x.csv'", [400, 403]],
    ['URL in read_csv', "select * from read_csv('https://127.0.0.1:1/x.csv')", [400, 403]],
    ['SET', "set enable_external_access = true", [403]],
    ['SET threads', 'set threads = 1', [403]],
    ['RESET', 'reset threads', [403]],
    ['SET via PRAGMA', 'pragma threads=1', [403]],
    ['getenv', "select getenv('HOME')", [400, 403]],
    ['duckdb_secrets', 'select * from duckdb_secrets()', [400, 403]],
    ['CREATE TABLE', 'create table x (a int)', [403]],
    ['CREATE TABLE AS', 'create table x as select * from readings', [403]],
    ['CREATE SECRET', "create secret s (type s3, key_id 'a', secret 'b')", [400, 403]],
    ['INSERT', "insert into readings values ('x','m',now(),1,now(),'s',null,0)", [403]],
    ['UPDATE', 'update readings set value = 0', [403]],
    ['DELETE', 'delete from readings', [403]],
    ['DROP', 'drop table readings', [403]],
    ['two statements', 'select 1; drop table readings', [403]],
    ['CALL', "call pragma_version()", [400, 403]],
    ['writing function in a select', "select * from query('drop table readings')", [400, 403]],
    ['cartesian join bomb', 'select count(*) from range(1000000000) a, range(1000000000) b', [408]],
  ];
  for (const [name, sql, codes] of cases) {
    const r = await app.inject({ method: 'POST', url: '/v1/sql', headers: { authorization: `Bearer ${analyst}` }, payload: { sql } });
    assert.ok(codes.includes(r.statusCode), `${name}: ${sql} -> ${r.statusCode} ${r.body.slice(0, 300)}`);
    const body = r.json() as { error: string; message: string };
    assert.ok(typeof body.message === 'string' && body.message.length > 15, `${name}: a clear message, got ${r.body}`);
    if (r.statusCode === 408) assert.match(body.message, /limit/);
    if (r.statusCode === 403) assert.match(body.message, /refused/);
  }
  // Nothing happened.
  assert.equal(existsSync(`${out}.csv`) || existsSync(`${out}.parquet`) || existsSync(out) || existsSync(`${out}.duckdb`), false);
  assert.deepEqual(await before(), start);
  // And the sandbox still answers a plain SELECT after the bomb was interrupted.
  const ok = await app.inject({ method: 'POST', url: '/v1/sql', headers: { authorization: `Bearer ${analyst}` }, payload: { sql: 'select value from readings' } });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual((ok.json() as { rows: unknown[] }).rows, [{ value: 21.5 }]);
});
