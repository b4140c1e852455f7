/**
 * `sensorpipe db grant-analyst <role>`: a read-only PostgreSQL login for BI tools (Power BI,
 * Grafana, Metabase…), see docs/postgres.md. Run as Sensorpipe's own database user (the owner of
 * the schema's tables), which must also own the database or be a superuser for the database-wide
 * REVOKEs. Idempotent: running it again re-applies everything (and changes the password if given).
 *
 * What the role gets, and what it does not:
 * - LOGIN with a connection limit; no superuser, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS;
 *   NOINHERIT, so a later GRANT of another role to it does not silently widen it.
 * - CONNECT on the database, USAGE on the Sensorpipe schema, SELECT on all its tables and views,
 *   and through ALTER DEFAULT PRIVILEGES on every table and view Sensorpipe creates later.
 * - No CREATE anywhere: CREATE and TEMPORARY on the database and CREATE on schema `public` are
 *   revoked from PUBLIC (the pseudo-role every role is in; PostgreSQL 15+ already revokes the
 *   latter). Sensorpipe's own user keeps both on the database through an explicit GRANT, since its
 *   writer uses temporary tables.
 * - Session defaults on the role: statement_timeout, default_transaction_read_only = on,
 *   search_path = the Sensorpipe schema (so BI tools see `readings`, `v_hourly`… unqualified).
 * - Files, programs and other sessions stay closed by the server itself: pg_read_file, COPY TO a
 *   file or program and lo_import need superuser or the pg_read/write_server_files roles.
 * The password is sent as a SCRAM-SHA-256 verifier computed here (RFC 5803 format), so the clear
 * text never reaches the server's logs; a non-ASCII password (which PostgreSQL would SASLprep)
 * is sent as is and hashed by the server.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { pgIdent } from './schema-postgres.js';

export interface GrantAnalystOptions {
  role: string;
  /** Null: the role gets no password (log in through another method, e.g. certificates); an existing password is kept. */
  password: string | null;
  /** The Sensorpipe schema. */
  schema: string;
  statementTimeoutMs: number;
  connectionLimit: number;
}

export interface GrantAnalystResult {
  created: boolean;
  database: string;
  tables: number;
}

const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const SCRAM_ITERATIONS = 4096;

/** A SCRAM-SHA-256 verifier as PostgreSQL stores it in pg_authid.rolpassword. */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export function checkRoleName(role: string): string | null {
  if (!ROLE_NAME.test(role)) return `role name ${JSON.stringify(role)} must be letters, digits and _ (not starting with a digit), at most 63 characters`;
  if (/^pg_/i.test(role)) return `role names starting with pg_ are reserved by PostgreSQL`;
  return null;
}

/** Creates or updates the analyst role in one transaction on `c` (connected to Sensorpipe's database as Sensorpipe's user). */
export async function grantAnalyst(c: pg.ClientBase, o: GrantAnalystOptions): Promise<GrantAnalystResult> {
  const problem = checkRoleName(o.role);
  if (problem) throw new TypeError(problem);
  if (!Number.isInteger(o.statementTimeoutMs) || o.statementTimeoutMs < 1) throw new TypeError('statement timeout must be a positive number of milliseconds');
  if (!Number.isInteger(o.connectionLimit) || o.connectionLimit < 1) throw new TypeError('connection limit must be a positive integer');
  const role = pgIdent(o.role);
  const schema = pgIdent(o.schema);
  const lit = (s: string) => c.escapeLiteral(s);
  await c.query('BEGIN');
  try {
    const db = (await c.query('SELECT current_database() AS db')).rows[0].db as string;
    const database = pgIdent(db);
    const hasSchema = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [o.schema]);
    if (hasSchema.rowCount === 0) {
      throw new Error(`schema ${o.schema} does not exist in database ${db}: start Sensorpipe once with this configuration to create it`);
    }
    const exists = await c.query('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [o.role]);
    if (exists.rows[0]?.rolsuper === true) throw new Error(`role ${o.role} is a superuser; choose another name for a read-only analyst role`);
    const created = exists.rowCount === 0;
    if (created) await c.query(`CREATE ROLE ${role}`);
    const password =
      o.password === null ? '' : ` PASSWORD ${lit(/^[\x20-\x7e]*$/.test(o.password) ? scramVerifier(o.password) : o.password)}`;
    await c.query(
      `ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT ${o.connectionLimit}${password}`,
    );
    await c.query(`ALTER ROLE ${role} SET statement_timeout = ${o.statementTimeoutMs}`);
    await c.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    await c.query(`ALTER ROLE ${role} SET search_path = ${schema}`);
    // No CREATE anywhere: PUBLIC loses CREATE/TEMPORARY; Sensorpipe's own user keeps them explicitly.
    await c.query(`GRANT CREATE, TEMPORARY ON DATABASE ${database} TO CURRENT_USER`);
    await c.query(`REVOKE CREATE, TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
    await c.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await c.query(`REVOKE ALL ON DATABASE ${database} FROM ${role}`);
    await c.query(`REVOKE ALL ON SCHEMA ${schema} FROM ${role}`);
    await c.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    await c.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    await c.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
    await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${role}`);
    const tables = await c.query(
      "SELECT count(*) AS n FROM information_schema.role_table_grants WHERE grantee = $1 AND table_schema = $2 AND privilege_type = 'SELECT'",
      [o.role, o.schema],
    );
    await c.query('COMMIT');
    return { created, database: db, tables: Number(tables.rows[0].n) };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
