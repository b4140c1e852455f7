// `sensorpipe db grant-analyst`: the role it creates can log in and SELECT every table and view of
// the Sensorpipe schema (including one created after the grant), and can create, write, copy to a
// file or read server files nowhere; its statement timeout and connection limit are set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { PostgresWarehouse } from '../../src/sinks/warehouse/postgres-warehouse.js';
import { scramVerifier } from '../../src/sinks/warehouse/postgres-roles.js';
import { SpoolSim, T0, batchOf, reading } from '../helpers/batches.js';
import { TEST_PG, dropSchema, freshSchemaName, requirePostgres, withAdmin } from '../helpers/postgres.js';
import { tempDir } from '../helpers/server.js';

function cli(args: string[], env: Record<string, string>, input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The PostgreSQL error code of what `fn` throws (it must throw). */
async function pgErrorOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  }
  assert.fail('expected the statement to fail');
}

if (requirePostgres('sensorpipe db grant-analyst')) {
  test('grant-analyst: SELECT on the schema (also future tables), no CREATE/INSERT/COPY TO file/pg_read_file, timeout and limit set', async (t) => {
    const schema = freshSchemaName();
    const role = `analyst_${randomBytes(4).toString('hex')}`;
    t.after(async () => {
      await withAdmin(async (c) => {
        await c.query(`DROP OWNED BY ${role}`).catch(() => undefined);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      });
      await dropSchema(schema);
    });
    const w = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: {} });
    const s = new SpoolSim();
    await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0, 20), reading('s2', 'temperature', T0, 21)])]));
    await w.close();

    const env = {
      SENSORPIPE_WAREHOUSE__KIND: 'postgres',
      SENSORPIPE_WAREHOUSE__POSTGRES__URL: TEST_PG.url as string,
      SENSORPIPE_WAREHOUSE__POSTGRES__SCHEMA: schema,
      SENSORPIPE_LOG_LEVEL: 'silent',
    };
    const r = cli(['db', 'grant-analyst', role, '--password-stdin', '--statement-timeout', '1500', '--connection-limit', '3'], env, 'correct horse battery\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`created read-only role ${role}`));
    assert.match(r.stdout, /statement_timeout 1500 ms; at most 3 connections/);
    // Running it again updates, and a bad name is a usage error.
    const again = cli(['db', 'grant-analyst', role, '--statement-timeout', '2500', '--connection-limit', '3'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /updated read-only role/);
    assert.equal(cli(['db', 'grant-analyst', 'bad-name;drop'], env).code, 2);

    // A table Sensorpipe creates after the grant (e.g. a new version's) is readable too.
    await withAdmin((c) => c.query(`CREATE TABLE "${schema}".later_table AS SELECT 1 AS x`));
    const info = await withAdmin(
      async (c) =>
        (
          await c.query(
            `SELECT r.rolconnlimit, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolconfig, a.rolpassword IS NOT NULL AS has_pw
             FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid WHERE r.rolname = $1`,
            [role],
          )
        ).rows[0],
    );
    assert.equal(info.rolconnlimit, 3);
    assert.deepEqual([info.rolsuper, info.rolcreatedb, info.rolcreaterole], [false, false, false]);
    assert.ok(info.rolconfig.includes('statement_timeout=2500'), String(info.rolconfig));
    assert.ok(info.has_pw, 'the password from the first run is kept');

    const c = new pg.Client({ connectionString: (TEST_PG.url as string).replace('postgres@', `${role}:${encodeURIComponent('correct horse battery')}@`) });
    await c.connect();
    try {
      // SELECT works on tables and views, unqualified (search_path is the Sensorpipe schema).
      assert.equal((await c.query('SELECT count(*)::int AS n FROM readings')).rows[0].n, 2);
      assert.equal((await c.query('SELECT count(*)::int AS n FROM v_sensor_health')).rows[0].n, 2);
      assert.equal((await c.query('SELECT x FROM later_table')).rows[0].x, 1);
      assert.equal((await c.query('SHOW statement_timeout')).rows[0].statement_timeout, '2500ms');
      // Nothing else. Each statement in its own transaction (autocommit), so one failure does not hide the next.
      const denied = async (sql: string, codes: string[]) => {
        const code = await pgErrorOf(() => c.query(sql));
        assert.ok(codes.includes(code), `${sql}: got ${code}, expected one of ${codes.join(', ')}`);
      };
      const READ_ONLY = '25006';
      const NO_PRIVILEGE = '42501';
      await denied('CREATE TABLE mine (a int)', [READ_ONLY, NO_PRIVILEGE]);
      await denied('CREATE TABLE public.mine (a int)', [READ_ONLY, NO_PRIVILEGE]);
      await denied("INSERT INTO sensors (sensor_id, created_at) VALUES ('x', now())", [READ_ONLY, NO_PRIVILEGE]);
      await denied("COPY readings TO '/tmp/sensorpipe-analyst-copy.csv'", [READ_ONLY, NO_PRIVILEGE]);
      await denied("SELECT pg_read_file('/etc/passwd')", [NO_PRIVILEGE]);
      // Lifting the session's read-only default does not help: the privileges are missing too.
      await c.query('SET default_transaction_read_only = off');
      await denied('CREATE TABLE mine (a int)', [NO_PRIVILEGE]);
      await denied('CREATE TEMP TABLE mine (a int)', [NO_PRIVILEGE]);
      await denied('CREATE TABLE public.mine (a int)', [NO_PRIVILEGE]);
      await denied(`CREATE SCHEMA ${role}_own`, [NO_PRIVILEGE]);
      await denied("INSERT INTO sensors (sensor_id, created_at) VALUES ('x', now())", [NO_PRIVILEGE]);
      await denied('DELETE FROM readings', [NO_PRIVILEGE]);
      await denied("COPY readings TO '/tmp/sensorpipe-analyst-copy.csv'", [NO_PRIVILEGE]);
      await denied("COPY (SELECT 1) TO PROGRAM 'id'", [NO_PRIVILEGE]);
      await denied("SELECT lo_import('/etc/passwd')", [NO_PRIVILEGE]);
      // The timeout holds.
      await denied('SELECT pg_sleep(5)', ['57014']);
    } finally {
      await c.end();
    }

    // `sensorpipe query` without a server queries PostgreSQL directly, also with the analyst's own login.
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const analystUrl = (TEST_PG.url as string).replace('postgres@', `${role}:${encodeURIComponent('correct horse battery')}@`);
    for (const url of [TEST_PG.url as string, analystUrl]) {
      const q = cli(['--data-dir', tmp.dir, 'query', '--json', 'SELECT count(*) AS n FROM readings'], { ...env, SENSORPIPE_WAREHOUSE__POSTGRES__URL: url });
      assert.equal(q.code, 0, q.stderr);
      assert.deepEqual(JSON.parse(q.stdout), { n: 2 });
    }
  });

  test('the SCRAM verifier is what PostgreSQL itself stores for the same password and salt', async () => {
    const role = `scram_${randomBytes(4).toString('hex')}`;
    const password = 'correct horse battery';
    const stored = await withAdmin(async (c) => {
      try {
        await c.query("SET password_encryption = 'scram-sha-256'");
        await c.query(`CREATE ROLE ${role} PASSWORD ${c.escapeLiteral(password)}`);
        return (await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0].rolpassword as string;
      } finally {
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });
    const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored);
    assert.ok(m, stored);
    assert.equal(scramVerifier(password, Buffer.from(m[2], 'base64'), Number(m[1])), stored);
  });
}
