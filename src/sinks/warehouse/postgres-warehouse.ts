/**
 * The PostgreSQL warehouse (scaled-out mode): see the `Warehouse` contract in core/sinks.ts, the
 * schema in schema-postgres.ts, the write path in postgres-write-batch.ts, the analyst SQL gate
 * in sql-gate-postgres.ts; docs/postgres.md for operators.
 *
 * Connections: two pools, so analysts can never starve the pipeline.
 * - `writes` (3 connections): writeBatch, upsertSensor, syncDevices and jobTransaction, each one
 *   transaction, queued one at a time in this process (`Serial`) and serialized with other
 *   processes on the same schema by a transaction-level advisory lock, as the contract asks
 *   ("jobs serialized with pipeline writes"); plus the pipeline's own reads.
 * - `queries` (`poolSize`, default 4): `query()`, each statement in its own read-only transaction
 *   with a statement timeout and a row cap.
 * Every session runs with search_path = the Sensorpipe schema and timezone = UTC.
 */
import pg from 'pg';
import { isValidId } from '../../core/ids.js';
import type { MetricSpec, SensorSpec } from '../../core/registry.js';
import { QueryError } from '../../core/sinks.js';
import { POSTGRES_DIALECT } from '../../core/sql-dialect.js';
import type { AccountingRow, QueryOptions, QueryResult, SqlTx, Warehouse } from '../../core/sinks.js';
import { silentLogger, systemClock } from '../../core/types.js';
import type { Clock, EpochMs, Logger, SinkBatch, WarehouseOutcome } from '../../core/types.js';
import { hourOf } from './batch-plan.js';
import { jsonFriendlyTypes, pgTs } from './postgres-values.js';
import { loadKnownPairsPg, readCommittedOffsetPg, writeBatchInTransactionPg } from './postgres-write-batch.js';
import { POSTGRES_SCHEMA, POSTGRES_WRITER_TEMP, lockNames, pgIdent } from './schema-postgres.js';
import { Serial } from './serial.js';
import { checkReadOnlyPg, queryErrorFromPg } from './sql-gate-postgres.js';

/** Where the server is: a URL, or its parts (the parts override what the URL says). */
export interface PostgresConnection {
  url?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** true: TLS with certificate verification; an object: node's TLS options (ca, rejectUnauthorized…). */
  ssl?: boolean | { rejectUnauthorized?: boolean; ca?: string };
}

export interface PostgresWarehouseOptions {
  connection: PostgresConnection;
  /** The schema holding Sensorpipe's tables (created when missing). Plain lower-case identifier. */
  schema: string;
  /** Connections serving `query()`. Default 4. */
  poolSize?: number;
  metricDefaults: Record<string, MetricSpec>;
  logger?: Logger;
  clock?: Clock;
  /** false: do not create or upgrade the schema (the CLI's read-only queries; a role that may only read). Default true. */
  setup?: boolean;
}

const DEFAULT_MAX_ROWS = 10_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

type Params = (string | number | boolean | null)[];

/** A readable "where" for messages: never the password. */
export function describeConnection(c: PostgresConnection): string {
  let host = c.host;
  let port = c.port;
  let database = c.database;
  if (c.url) {
    try {
      const u = new URL(c.url);
      host ??= u.hostname;
      port ??= u.port ? Number(u.port) : undefined;
      database ??= u.pathname.replace(/^\//, '') || undefined;
    } catch {
      // reported by the driver
    }
  }
  return `postgres://${host ?? 'localhost'}:${port ?? 5432}/${database ?? '(default database)'}`;
}

export function poolConfig(c: PostgresConnection, schema: string, max: number): pg.PoolConfig {
  return {
    ...(c.url ? { connectionString: c.url } : {}),
    ...(c.host !== undefined ? { host: c.host } : {}),
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.database !== undefined ? { database: c.database } : {}),
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.ssl !== undefined ? { ssl: c.ssl } : {}),
    max,
    // schema is checked against SCHEMA_NAME, so it needs no escaping here
    options: `-c search_path=${schema} -c timezone=UTC`,
    application_name: 'sensorpipe',
    types: jsonFriendlyTypes,
    // A ceiling, not a delay: a busy server can take seconds to accept; past this, the writer retries.
    connectionTimeoutMillis: 30_000,
  };
}

export class PostgresWarehouse implements Warehouse {
  readonly kind = 'postgres' as const;
  readonly dialect = POSTGRES_DIALECT;
  private writes: pg.Pool | null = null;
  private queries: pg.Pool | null = null;
  private opening: Promise<void> | null = null;
  private readonly serial = new Serial();
  private knownPairs: Set<string> | null = null;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly locks: ReturnType<typeof lockNames>;

  private constructor(private readonly opts: PostgresWarehouseOptions) {
    if (!SCHEMA_NAME.test(opts.schema)) {
      throw new TypeError(`warehouse.postgres.schema ${JSON.stringify(opts.schema)} must be a lower-case identifier (letters, digits, _)`);
    }
    this.logger = (opts.logger ?? silentLogger).child({ component: 'warehouse', kind: 'postgres' });
    this.clock = opts.clock ?? systemClock;
    this.locks = lockNames(opts.schema);
  }

  /** Connects, creates or upgrades the schema, and returns a ready warehouse. */
  static async open(opts: PostgresWarehouseOptions): Promise<PostgresWarehouse> {
    const w = new PostgresWarehouse(opts);
    await w.open();
    return w;
  }

  get schema(): string {
    return this.opts.schema;
  }

  /** Idempotent: a no-op when already open; reopens after close(). */
  async open(): Promise<void> {
    if (this.writes) return;
    this.opening ??= this.doOpen().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    const t0 = performance.now();
    const where = describeConnection(this.opts.connection);
    const writes = new pg.Pool(poolConfig(this.opts.connection, this.opts.schema, 3));
    const queries = new pg.Pool(poolConfig(this.opts.connection, this.opts.schema, Math.max(1, this.opts.poolSize ?? 4)));
    // A connection the server dropped must not crash the process: idle ones through the pool's
    // 'error', checked-out ones (between two statements of a batch, when the pool does not listen)
    // through their own listener; the statement in progress or the next one fails instead, the
    // batch is retried, and the next checkout reconnects.
    for (const p of [writes, queries]) {
      p.on('error', (err) => this.logger.warn({ err }, 'idle PostgreSQL connection lost'));
      p.on('connect', (client) => client.on('error', (err) => this.logger.warn({ err }, 'PostgreSQL connection lost while in use; the work on it fails and is retried')));
    }
    try {
      const c = await writes.connect().catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`cannot connect to the PostgreSQL warehouse at ${where}: ${msg}. Check warehouse.postgres (url or host/port/user/password) and that the server accepts connections from this host.`);
      });
      try {
        if (this.opts.setup !== false) await this.setupSchema(c);
        const su = await c.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
        if (su.rows[0]?.rolsuper === true) {
          this.logger.warn(
            { where },
            'Sensorpipe connects to PostgreSQL as a superuser: analyst SQL is still read-only and filtered, but run it as an ordinary role that owns its schema (docs/postgres.md)',
          );
        }
      } finally {
        c.release();
      }
    } catch (err) {
      await Promise.allSettled([writes.end(), queries.end()]);
      throw err;
    }
    this.writes = writes;
    this.queries = queries;
    this.knownPairs = null;
    this.logger.info({ where, schema: this.opts.schema, ms: Math.round(performance.now() - t0) }, 'warehouse open');
  }

  /** Creates the schema when missing and runs every (idempotent) DDL statement, in one transaction under the setup lock. */
  private async setupSchema(c: pg.PoolClient): Promise<void> {
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.locks.setup]);
      const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.opts.schema]);
      if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${pgIdent(this.opts.schema)}`);
      for (const ddl of POSTGRES_SCHEMA) await c.query(ddl);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private pool(which: 'writes' | 'queries'): pg.Pool {
    const p = which === 'writes' ? this.writes : this.queries;
    if (!p) throw new Error('warehouse is not open');
    return p;
  }

  /** One transaction holding the schema's write lock, queued behind every other one of this process. */
  private transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, afterCommit?: () => void): Promise<T> {
    return this.serial.run(async () => {
      const c = await this.pool('writes').connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.locks.writes]);
        const out = await fn(c);
        await c.query('COMMIT');
        afterCommit?.();
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        throw err;
      } finally {
        c.release(broken);
      }
    });
  }

  private async read<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool('writes').connect();
    try {
      return await fn(c);
    } finally {
      c.release();
    }
  }

  writeBatch(batch: SinkBatch): Promise<WarehouseOutcome> {
    const registered: string[] = [];
    return this.transaction(
      async (c) => {
        for (const ddl of POSTGRES_WRITER_TEMP) await c.query(ddl);
        this.knownPairs ??= await loadKnownPairsPg(c);
        return writeBatchInTransactionPg(c, batch, {
          metricDefaults: this.opts.metricDefaults,
          logger: this.logger,
          knownPairs: this.knownPairs,
          registered,
        });
      },
      () => {
        for (const k of registered) this.knownPairs?.add(k);
      },
    );
  }

  committedOffset(): Promise<number> {
    return this.read((c) => readCommittedOffsetPg(c));
  }

  loadRegistry(): Promise<SensorSpec[]> {
    return this.read(async (c) => {
      const sensors = (await c.query('SELECT sensor_id, location, type, expected_interval_s FROM sensors ORDER BY sensor_id COLLATE "C"')).rows;
      const metrics = (
        await c.query('SELECT sensor_id, metric, unit, min_value, max_value FROM sensor_metrics ORDER BY sensor_id COLLATE "C", metric COLLATE "C"')
      ).rows;
      const byId = new Map<string, SensorSpec>();
      for (const s of sensors) {
        byId.set(s.sensor_id, { sensorId: s.sensor_id, location: s.location, type: s.type, expectedIntervalS: s.expected_interval_s, metrics: {} });
      }
      for (const m of metrics) {
        const spec = byId.get(m.sensor_id);
        if (spec) spec.metrics[m.metric] = { unit: m.unit, min: m.min_value, max: m.max_value };
      }
      return [...byId.values()];
    });
  }

  upsertSensor(spec: SensorSpec): Promise<void> {
    if (!isValidId(spec.sensorId)) return Promise.reject(new TypeError(`invalid sensor id: ${JSON.stringify(spec.sensorId)}`));
    for (const metric of Object.keys(spec.metrics)) {
      if (!isValidId(metric)) return Promise.reject(new TypeError(`invalid metric name: ${JSON.stringify(metric)}`));
    }
    return this.transaction(async (c) => {
      this.knownPairs = null;
      await c.query(
        `INSERT INTO sensors (sensor_id, location, type, expected_interval_s, created_at) VALUES ($1, $2, $3, $4, CAST($5 AS TIMESTAMP))
         ON CONFLICT (sensor_id) DO UPDATE SET location = excluded.location, type = excluded.type,
           expected_interval_s = excluded.expected_interval_s`,
        [spec.sensorId, spec.location, spec.type, spec.expectedIntervalS, pgTs(this.clock.now())],
      );
      await c.query('DELETE FROM sensor_metrics WHERE sensor_id = $1', [spec.sensorId]);
      for (const [metric, m] of Object.entries(spec.metrics)) {
        await c.query('INSERT INTO sensor_metrics (sensor_id, metric, unit, min_value, max_value) VALUES ($1, $2, $3, $4, $5)', [
          spec.sensorId,
          metric,
          m.unit,
          m.min,
          m.max,
        ]);
      }
    });
  }

  syncDevices(devices: { deviceId: string; sensors: string[]; createdAt: EpochMs }[]): Promise<void> {
    return this.transaction(async (c) => {
      await c.query('DELETE FROM devices');
      for (const d of devices) {
        await c.query('INSERT INTO devices (device_id, sensors, created_at) VALUES ($1, $2, CAST($3 AS TIMESTAMP))', [
          d.deviceId,
          d.sensors,
          pgTs(d.createdAt),
        ]);
      }
    });
  }

  /** As DuckDbWarehouse.accounting: hours overlapping [from, to). */
  accounting(range: { from?: EpochMs; to?: EpochMs } = {}): Promise<AccountingRow[]> {
    return this.read(async (c) => {
      const where: string[] = [];
      const params: string[] = [];
      if (range.from !== undefined) {
        params.push(pgTs(hourOf(range.from)));
        where.push(`hour >= CAST($${params.length} AS TIMESTAMP)`);
      }
      if (range.to !== undefined) {
        params.push(pgTs(range.to));
        where.push(`hour < CAST($${params.length} AS TIMESTAMP)`);
      }
      const r = await c.query(
        `SELECT source, outcome, reason, sum(items) AS items FROM ingest_counts
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         GROUP BY source, outcome, reason ORDER BY source COLLATE "C", outcome COLLATE "C", reason COLLATE "C"`,
        params,
      );
      return r.rows.map((x) => ({ source: x.source, outcome: x.outcome, reason: x.reason, items: Number(x.items) }));
    });
  }

  jobTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction(async (c) =>
      fn({
        run: async (sql: string, params?: Params) => (await c.query(sql, params ?? [])).rowCount ?? 0,
        all: async <R>(sql: string, params?: Params) => (await c.query(sql, params ?? [])).rows as R[],
      }),
    );
  }

  /**
   * Read-only SQL for analysts: exactly one SELECT (sql-gate-postgres.ts), run as a cursor in a
   * READ ONLY transaction with `statement_timeout`; at most `maxRows` rows are fetched
   * (`truncated` says more existed). Duplicate column names get `:1`, `:2` as on DuckDB.
   */
  async query(sql: string, opts: QueryOptions = {}): Promise<QueryResult> {
    const maxRows = Math.max(0, Math.floor(opts.maxRows ?? DEFAULT_MAX_ROWS));
    const timeoutMs = Math.max(1, Math.floor(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    await checkReadOnlyPg(sql);
    const c = await this.pool('queries').connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN TRANSACTION READ ONLY');
      await c.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
      // Extended protocol: the server accepts exactly one statement here, whatever the gate decided.
      await c.query({ text: `DECLARE sensorpipe_q NO SCROLL CURSOR FOR ${sql}\n`, queryMode: 'extended' } as pg.QueryConfig);
      const r = await c.query({ text: `FETCH FORWARD ${maxRows + 1} FROM sensorpipe_q`, rowMode: 'array' });
      const seen = new Map<string, number>();
      const columns = r.fields.map((f) => {
        const n = seen.get(f.name) ?? 0;
        seen.set(f.name, n + 1);
        return n === 0 ? f.name : `${f.name}:${n}`;
      });
      const rows = (r.rows as unknown[][]).slice(0, maxRows).map((values) => Object.fromEntries(columns.map((col, i) => [col, values[i]])));
      return { columns, rows, truncated: r.rows.length > maxRows };
    } catch (err) {
      throw queryErrorFromPg(err, timeoutMs);
    } finally {
      await c.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      c.release(broken);
    }
  }

  /** Waits for queued writes, then closes both pools (running queries finish or fail). */
  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    const writes = this.writes;
    const queries = this.queries;
    if (!writes || !queries) return;
    await this.serial.idle();
    this.writes = null;
    this.queries = null;
    await Promise.allSettled([writes.end(), queries.end()]);
    this.logger.info({ schema: this.opts.schema }, 'warehouse closed');
  }
}
