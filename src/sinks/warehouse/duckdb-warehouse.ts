/**
 * The DuckDB warehouse (default, one process): see the `Warehouse` contract in core/sinks.ts,
 * the schema in schema-duckdb.ts, the write path and its dedup measurements in
 * duckdb-write-batch.ts, the analyst SQL gate in sql-gate-duckdb.ts.
 *
 * Connections: DuckDB connections must not run two statements at once, and a transaction
 * belongs to its connection. So:
 * - one `main` connection, serialized by a queue, does every write (writeBatch, upsertSensor,
 *   syncDevices: one transaction each) and the pipeline's own reads (committedOffset,
 *   loadRegistry, accounting): analysts can never starve the writer;
 * - a small pool of query connections (default 2) serves `query()`; each query runs alone on its
 *   connection inside `BEGIN TRANSACTION READ ONLY`, sees committed data only (MVCC), and on
 *   timeout is interrupted and its connection replaced.
 *
 * Only one process may open the file read-write. `readOnly: true` (the CLI when no server runs)
 * opens an existing file with access_mode=READ_ONLY; when a server holds the file, opening fails
 * with a `WarehouseLockedError` that tells the operator to use `sensorpipe query --url`.
 */
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';
import { LIST, TIMESTAMP, VARCHAR, listValue } from '@duckdb/node-api';
import { isValidId } from '../../core/ids.js';
import type { MetricSpec, SensorSpec } from '../../core/registry.js';
import { QueryError } from '../../core/sinks.js';
import { DUCKDB_DIALECT } from '../../core/sql-dialect.js';
import type { AccountingRow, QueryOptions, QueryResult, SqlTx, Warehouse } from '../../core/sinks.js';
import { silentLogger, systemClock } from '../../core/types.js';
import type { Clock, EpochMs, Logger, SinkBatch, WarehouseOutcome } from '../../core/types.js';
import { hourOf } from './batch-plan.js';
import { hardenInstance, openInstance, type DuckDbLimits } from './duckdb-open.js';
import { jsonFriendlyConverter, num, str, tsValue } from './duckdb-values.js';
import { loadKnownPairs, readCommittedOffset, writeBatchInTransaction } from './duckdb-write-batch.js';
import { DUCKDB_SCHEMA, DUCKDB_WRITER_TEMP } from './schema-duckdb.js';
import { ConnectionPool, Serial } from './serial.js';
import { prepareReadOnly, queryErrorFrom } from './sql-gate-duckdb.js';

export { WarehouseLockedError, WarehouseMissingError } from './duckdb-open.js';

export interface DuckDbWarehouseOptions {
  /** Database file (created when missing unless readOnly). */
  path: string;
  /** Unit and plausibility limits given to a metric when a sensor is auto-registered. */
  metricDefaults: Record<string, MetricSpec>;
  logger?: Logger;
  /** Open an existing file with access_mode=READ_ONLY (CLI without a server). Writes throw. */
  readOnly?: boolean;
  /** Directories SQL may still read although external access is disabled (e.g. the Parquet lake, for views). */
  allowedDirectories?: string[];
  /** Connections serving `query()` concurrently. Default 2. */
  queryConnections?: number;
  /** Clock for `created_at` of sensors and devices written through the API. */
  clock?: Clock;
  /** Buffer pool ceiling and threads (config `warehouse.duckdb`); null: DuckDB's defaults. */
  limits?: DuckDbLimits;
}

const DEFAULT_MAX_ROWS = 10_000;
const DEFAULT_TIMEOUT_MS = 10_000;

export class DuckDbWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  readonly dialect = DUCKDB_DIALECT;
  private instance: DuckDBInstance | null = null;
  private main: DuckDBConnection | null = null;
  private pool: ConnectionPool<DuckDBConnection> | null = null;
  private opening: Promise<void> | null = null;
  private readonly serial = new Serial();
  /** Registered (sensor, metric) pairs; null = load on next batch (after open, and after upsertSensor changed metric sets). */
  private knownPairs: Set<string> | null = null;
  private readonly logger: Logger;
  private readonly clock: Clock;

  private constructor(private readonly opts: DuckDbWarehouseOptions) {
    this.logger = (opts.logger ?? silentLogger).child({ component: 'warehouse', kind: 'duckdb' });
    this.clock = opts.clock ?? systemClock;
  }

  /** Opens (creating the file and schema unless readOnly) and returns a ready warehouse. */
  static async open(opts: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
    const w = new DuckDbWarehouse(opts);
    await w.open();
    return w;
  }

  get readOnly(): boolean {
    return this.opts.readOnly === true;
  }

  /** Idempotent: a no-op when already open; reopens after close(). */
  async open(): Promise<void> {
    if (this.instance) return;
    this.opening ??= this.doOpen().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    const t0 = performance.now();
    const instance = await openInstance({ path: this.opts.path, readOnly: this.readOnly, limits: this.opts.limits });
    let main: DuckDBConnection | null = null;
    try {
      main = await instance.connect();
      await hardenInstance(main, this.opts.allowedDirectories);
      if (!this.readOnly) {
        for (const ddl of DUCKDB_SCHEMA) await main.run(ddl);
        for (const ddl of DUCKDB_WRITER_TEMP) await main.run(ddl);
      }
    } catch (err) {
      main?.closeSync();
      instance.closeSync();
      throw err;
    }
    this.instance = instance;
    this.main = main;
    this.knownPairs = null;
    this.pool = new ConnectionPool(() => instance.connect(), Math.max(1, this.opts.queryConnections ?? 2));
    this.logger.info(
      { path: this.opts.path, readOnly: this.readOnly, ms: Math.round(performance.now() - t0) },
      'warehouse open',
    );
  }

  private conn(): DuckDBConnection {
    if (!this.main) throw new Error('warehouse is not open');
    return this.main;
  }

  private writable(): DuckDBConnection {
    if (this.readOnly) throw new Error(`warehouse ${this.opts.path} was opened read-only; writes go through the server`);
    return this.conn();
  }

  /** One transaction on the main connection, serialized with everything else on it. */
  private transaction<T>(fn: (c: DuckDBConnection) => Promise<T>, afterCommit?: () => void): Promise<T> {
    return this.serial.run(async () => {
      const c = this.writable();
      await c.run('BEGIN TRANSACTION');
      let out: T;
      try {
        out = await fn(c);
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      afterCommit?.();
      return out;
    });
  }

  private read<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.serial.run(async () => fn(this.conn()));
  }

  writeBatch(batch: SinkBatch): Promise<WarehouseOutcome> {
    const registered: string[] = [];
    return this.transaction(
      async (c) => {
        this.knownPairs ??= await loadKnownPairs(c);
        return writeBatchInTransaction(c, batch, {
          metricDefaults: this.opts.metricDefaults,
          logger: this.logger,
          knownPairs: this.knownPairs,
          registered,
        });
      },
      // Only a committed batch registered anything.
      () => {
        for (const k of registered) this.knownPairs?.add(k);
      },
    );
  }

  /** High-water mark of the spool offsets written; -1 when nothing was written yet. */
  committedOffset(): Promise<number> {
    return this.read((c) => readCommittedOffset(c));
  }

  loadRegistry(): Promise<SensorSpec[]> {
    return this.read(async (c) => {
      const sensors = (await c.runAndReadAll('SELECT sensor_id, location, type, expected_interval_s FROM sensors ORDER BY sensor_id')).getRowObjects();
      const metrics = (
        await c.runAndReadAll('SELECT sensor_id, metric, unit, min_value, max_value FROM sensor_metrics ORDER BY sensor_id, metric')
      ).getRowObjects();
      const byId = new Map<string, SensorSpec>();
      for (const s of sensors) {
        const sensorId = str(s.sensor_id) as string;
        byId.set(sensorId, {
          sensorId,
          location: str(s.location),
          type: str(s.type),
          expectedIntervalS: num(s.expected_interval_s),
          metrics: {},
        });
      }
      for (const m of metrics) {
        const spec = byId.get(str(m.sensor_id) as string);
        if (!spec) continue;
        spec.metrics[str(m.metric) as string] = { unit: str(m.unit), min: num(m.min_value), max: num(m.max_value) };
      }
      return [...byId.values()];
    });
  }

  /** Creates or replaces a sensor: its row and exactly the given metric set (created_at is kept on update). */
  upsertSensor(spec: SensorSpec): Promise<void> {
    if (!isValidId(spec.sensorId)) return Promise.reject(new TypeError(`invalid sensor id: ${JSON.stringify(spec.sensorId)}`));
    for (const metric of Object.keys(spec.metrics)) {
      if (!isValidId(metric)) return Promise.reject(new TypeError(`invalid metric name: ${JSON.stringify(metric)}`));
    }
    return this.transaction(async (c) => {
      this.knownPairs = null; // the metric set changes: reloaded by the next batch
      await c.run(
        `INSERT INTO sensors (sensor_id, location, type, expected_interval_s, created_at) VALUES ($1, $2, $3, $4::DOUBLE, $5)
         ON CONFLICT (sensor_id) DO UPDATE SET location = excluded.location, type = excluded.type,
           expected_interval_s = excluded.expected_interval_s`,
        [spec.sensorId, spec.location, spec.type, spec.expectedIntervalS, tsValue(this.clock.now())],
      );
      await c.run('DELETE FROM sensor_metrics WHERE sensor_id = $1', [spec.sensorId]);
      for (const [metric, m] of Object.entries(spec.metrics)) {
        await c.run(
          'INSERT INTO sensor_metrics (sensor_id, metric, unit, min_value, max_value) VALUES ($1, $2, $3, $4::DOUBLE, $5::DOUBLE)',
          [spec.sensorId, metric, m.unit, m.min, m.max],
        );
      }
    });
  }

  /** Replaces the mirror with exactly this list. */
  syncDevices(devices: { deviceId: string; sensors: string[]; createdAt: EpochMs }[]): Promise<void> {
    return this.transaction(async (c) => {
      await c.run('DELETE FROM devices');
      if (devices.length === 0) return;
      let stmt: DuckDBPreparedStatement | null = null;
      try {
        stmt = await c.prepare('INSERT INTO devices (device_id, sensors, created_at) VALUES ($1, $2, $3)');
        for (const d of devices) {
          stmt.bind([d.deviceId, listValue(d.sensors), tsValue(d.createdAt)], [VARCHAR, LIST(VARCHAR), TIMESTAMP]);
          await stmt.run();
        }
      } finally {
        stmt?.destroySync();
      }
    });
  }

  /**
   * Sums of `ingest_counts` by source, outcome and reason over the hours that overlap
   * [from, to) (`from` inclusive, rounded down to its hour; `to` exclusive). Without a range: all time.
   */
  accounting(range: { from?: EpochMs; to?: EpochMs } = {}): Promise<AccountingRow[]> {
    return this.read(async (c) => {
      const where: string[] = [];
      const params: DuckDBValue[] = [];
      if (range.from !== undefined) {
        params.push(tsValue(hourOf(range.from)));
        where.push(`hour >= $${params.length}`);
      }
      if (range.to !== undefined) {
        params.push(tsValue(range.to));
        where.push(`hour < $${params.length}`);
      }
      const reader = await c.runAndReadAll(
        `SELECT source, outcome, reason, sum(items) AS items FROM ingest_counts
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         GROUP BY source, outcome, reason ORDER BY source, outcome, reason`,
        params,
      );
      return reader.getRowObjects().map((r) => ({
        source: str(r.source) as string,
        outcome: str(r.outcome) as AccountingRow['outcome'],
        reason: str(r.reason) as string,
        items: num(r.items) ?? 0,
      }));
    });
  }

  jobTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction(async (c) =>
      fn({
        run: async (sql, params) => (await c.run(sql, params ?? [])).rowsChanged,
        all: async <R>(sql: string, params?: (string | number | boolean | null)[]) =>
          (await c.runAndReadAll(sql, params ?? [])).convertRowObjects(jsonFriendlyConverter) as R[],
      }),
    );
  }

  /**
   * Read-only SQL for analysts: exactly one SELECT (see sql-gate-duckdb.ts), at most `maxRows`
   * rows (`truncated` says more existed), interrupted after `timeoutMs` (QueryError 'timeout').
   * Values are JSON-friendly (duckdb-values.ts).
   */
  async query(sql: string, opts: QueryOptions = {}): Promise<QueryResult> {
    const maxRows = Math.max(0, Math.floor(opts.maxRows ?? DEFAULT_MAX_ROWS));
    const timeoutMs = Math.max(1, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (!this.pool) throw new Error('warehouse is not open');
    return this.pool.use(
      async (conn) => {
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          conn.interrupt();
        }, timeoutMs);
        let prepared: DuckDBPreparedStatement | null = null;
        try {
          await conn.run('BEGIN TRANSACTION READ ONLY');
          prepared = await prepareReadOnly(conn, sql);
          const reader = await prepared.streamAndReadUntil(maxRows + 1);
          const columns = reader.deduplicatedColumnNames();
          const rows = reader.convertRowObjects(jsonFriendlyConverter).slice(0, maxRows) as Record<string, unknown>[];
          return { columns, rows, truncated: reader.currentRowCount > maxRows };
        } catch (err) {
          if (timedOut) throw new QueryError(`query stopped: it ran longer than the ${timeoutMs} ms limit`, 'timeout');
          throw queryErrorFrom(err);
        } finally {
          clearTimeout(timer);
          prepared?.destroySync();
          await conn.run('ROLLBACK').catch(() => undefined);
        }
      },
      // An interrupted connection is not reused.
      (err) => err instanceof QueryError && err.code === 'timeout',
    );
  }

  /** Waits for queued writes, interrupts running queries, checkpoints (read-write) and releases the file lock. */
  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    const instance = this.instance;
    if (!instance) return;
    const pool = this.pool;
    pool?.close();
    await this.serial.run(async () => {
      const main = this.main;
      this.main = null;
      if (main && !this.readOnly) await main.run('CHECKPOINT').catch((err: unknown) => this.logger.warn({ err }, 'checkpoint on close failed'));
      main?.closeSync();
    });
    await pool?.drained();
    this.pool = null;
    this.instance = null;
    instance.closeSync();
    this.logger.info({ path: this.opts.path }, 'warehouse closed');
  }
}
