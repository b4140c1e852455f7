/**
 * PostgreSQL for tests: the server at 127.0.0.1:5432 (user postgres, trust auth; override with
 * SENSORPIPE_TEST_PG_URL), database `test` (created when missing). Every test gets a schema of its
 * own (`t_<random>`), dropped afterwards, so parallel runs never collide.
 *
 * When the server cannot be reached, `pgUnavailable` holds the reason: tests print it loudly and
 * skip, except under CI=true, where they fail instead.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import type { PostgresConnection } from '../../src/sinks/warehouse/postgres-warehouse.js';

const BASE_URL = process.env.SENSORPIPE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_PG: PostgresConnection = { url: `${BASE_URL}/test` };

/** Generous timeout: on a loaded CI box a connection may take seconds, and a false 'unreachable' would skip (or fail) everything. */
async function probe(): Promise<string | null> {
  const admin = new pg.Client({ connectionString: `${BASE_URL}/postgres`, connectionTimeoutMillis: 20_000 });
  try {
    await admin.connect();
    const r = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'test'");
    if (r.rowCount === 0) await admin.query('CREATE DATABASE test').catch(() => undefined); // a parallel run may win
    return null;
  } catch (err) {
    return `PostgreSQL at ${BASE_URL} is not reachable (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Null when PostgreSQL is usable; otherwise why not. */
export const pgUnavailable: string | null = await probe();

/**
 * Registers a placeholder test when PostgreSQL is unavailable: skipped with a loud message, or
 * failing under CI=true. Returns true when the caller should register its real tests.
 */
export function requirePostgres(what: string): boolean {
  if (pgUnavailable === null) return true;
  if (process.env.CI === 'true') {
    test(`${what} (PostgreSQL required under CI)`, () => {
      throw new Error(`${pgUnavailable}; CI=true, so this fails instead of skipping. Start PostgreSQL (see .ci/run).`);
    });
  } else {
    console.error(`\n!!! ${what}: SKIPPED: ${pgUnavailable}. Start PostgreSQL on 127.0.0.1:5432 to run them.\n`);
    test(`${what}`, { skip: pgUnavailable }, () => undefined);
  }
  return false;
}

/** A fresh schema name; `dropSchema` removes it and everything in it. */
export function freshSchemaName(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

export async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>, database = 'test'): Promise<T> {
  const c = new pg.Client({ connectionString: `${BASE_URL}/${database}` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
