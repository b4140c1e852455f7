/**
 * Where `sensorpipe import` sends its batches. Both run the same decoder
 * (src/pipeline/decode/import-rows.ts) in front of the same durable spool:
 *
 * - LocalImportSink: no server runs on the data dir, so the importer opens it itself (spool,
 *   DuckDB warehouse, lake) and runs the writer inline: backpressure is synchronous.
 * - ServerImportSink: a server runs (the DuckDB file is single-writer), so batches go to
 *   POST /v1/ingest/import with the local admin token; 503 (spool full) is retried after Retry-After.
 */
import { mkdirSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { MemoryRegistry } from '../core/registry.js';
import { SpoolFullError, type Clock, type Logger } from '../core/types.js';
import { Counters } from '../pipeline/counters.js';
import { IMPORT_TOPIC, validateImportRows } from '../pipeline/decode/import-rows.js';
import { Ingestor } from '../pipeline/ingestor.js';
import { SqliteSpool } from '../pipeline/spool/sqlite-spool.js';
import { Writer } from '../pipeline/writer.js';
import { openLake } from '../sinks/lake/open-lake.js';
import type { ParquetLake } from '../sinks/lake/parquet-lake.js';
import { DuckDbWarehouse } from '../sinks/warehouse/duckdb-warehouse.js';
import { dataPaths } from '../runtime/paths.js';

/** What validation made of one batch. */
export interface BatchResult {
  accepted: number;
  quarantined: number;
  reasons: Record<string, number>;
}

/**
 * Stores import batches durably. `send` resolves once the batch is in the spool (or the server
 * answered 200); it waits out a full spool itself and rejects only on an infrastructure fault
 * (disk, server error), which ends the import: the batches sent before it stay stored.
 */
export interface ImportSink {
  readonly mode: 'local' | 'server';
  send(payload: Buffer): Promise<BatchResult>;
  /** Rows in `readings` once everything sent is written; null when it cannot be known. */
  readingsCount(): Promise<number | null>;
  /**
   * Records the mapping's units for metrics of these sensors that have none in the registry
   * (never overwrites one). Returns how many were set; the server sink sets none (use PUT /v1/sensors/:id).
   */
  fillUnits(sensors: Iterable<string>, units: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

function tally(quarantined: { reason: string }[]): Record<string, number> {
  const r: Record<string, number> = {};
  for (const q of quarantined) r[q.reason] = (r[q.reason] ?? 0) + 1;
  return r;
}

/** Spool records (import batches of up to 2,000 rows) or bytes waiting before the local writer runs. */
const DRAIN_RECORDS = 16;
const DRAIN_BYTES = 16 * 1024 * 1024;

export class LocalImportSink implements ImportSink {
  readonly mode = 'local' as const;
  private constructor(
    private readonly spool: SqliteSpool,
    private readonly warehouse: DuckDbWarehouse,
    private readonly lake: ParquetLake,
    private readonly ingestor: Ingestor,
    private readonly writer: Writer,
    private readonly clock: Clock,
    private readonly drainEvery: number,
  ) {}

  static async open(config: Config, deps: { clock: Clock; logger: Logger }): Promise<LocalImportSink> {
    const paths = dataPaths(config.dataDir);
    mkdirSync(paths.root, { recursive: true });
    // The warehouse first: it is locked while a server runs, and nothing else may be opened then.
    const warehouse = await DuckDbWarehouse.open({ path: paths.warehouse, metricDefaults: config.registry.metricDefaults, logger: deps.logger });
    const spool = await SqliteSpool.open({ dir: paths.spool, maxBytes: config.spool.maxBytes, logger: deps.logger });
    const lake = await openLake(config.lake, paths, deps.logger);
    const registry = new MemoryRegistry(config.validation.unknownSensorPolicy, await warehouse.loadRegistry());
    const ingestor = new Ingestor({
      spool,
      registry,
      validation: config.validation,
      metricDefaults: config.registry.metricDefaults,
      clock: deps.clock,
      logger: deps.logger,
      counters: new Counters(),
    });
    const writer = new Writer({ spool, warehouse, lake, clock: deps.clock, logger: deps.logger }, config.writer);
    // Whatever an earlier run left in the spool is written first.
    await writer.drain();
    return new LocalImportSink(spool, warehouse, lake, ingestor, writer, deps.clock, Math.min(DRAIN_RECORDS, config.writer.batchMaxRecords));
  }

  async send(payload: Buffer): Promise<BatchResult> {
    const message = { source: 'import', topic: IMPORT_TOPIC, deviceId: null, receivedAt: this.clock.now(), payload };
    let result;
    try {
      result = await this.ingestor.ingest(message, { topicSensorId: null }, validateImportRows);
    } catch (err) {
      if (!(err instanceof SpoolFullError)) throw err;
      // Backpressure: write what waits, then try once more (a second refusal is a real fault).
      await this.writer.drain();
      result = await this.ingestor.ingest(message, { topicSensorId: null }, validateImportRows);
    }
    // Write every few batches: the backlog (and the writer's batch, read whole into memory) stays
    // small whatever the file size, and the lake gets files of a useful size.
    const stats = await this.spool.stats();
    if (stats.depthRecords >= this.drainEvery || stats.depthBytes >= DRAIN_BYTES) await this.writer.drain();
    return { accepted: result.readings.length, quarantined: result.quarantined.length, reasons: tally(result.quarantined) };
  }

  async readingsCount(): Promise<number> {
    await this.writer.drain();
    const r = await this.warehouse.query('SELECT count(*) AS n FROM readings');
    return Number(r.rows[0]?.n ?? 0);
  }

  async fillUnits(sensors: Iterable<string>, units: Record<string, string>): Promise<number> {
    if (Object.keys(units).length === 0) return 0;
    await this.writer.drain();
    const wanted = new Set(sensors);
    let set = 0;
    for (const spec of await this.warehouse.loadRegistry()) {
      if (!wanted.has(spec.sensorId)) continue;
      let changed = false;
      for (const [metric, unit] of Object.entries(units)) {
        const m = spec.metrics[metric];
        if (m && m.unit === null) {
          spec.metrics[metric] = { ...m, unit };
          changed = true;
          set++;
        }
      }
      if (changed) await this.warehouse.upsertSensor(spec);
    }
    return set;
  }

  async close(): Promise<void> {
    try {
      await this.writer.drain();
    } finally {
      await this.lake.close();
      await this.warehouse.close();
      await this.spool.close();
    }
  }
}

/** Thrown when the server cannot take the import (unreachable, refused, failed). */
export class ServerImportError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export class ServerImportSink implements ImportSink {
  readonly mode = 'server' as const;
  constructor(
    private readonly target: { url: string; token: string | null },
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly maxRetries = 60,
  ) {}

  async send(payload: Buffer): Promise<BatchResult> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.post('/v1/ingest/import', payload);
      if (res.status === 503 && attempt < this.maxRetries) {
        await this.sleep(1000 * (Number(res.headers.get('retry-after')) || 5));
        continue;
      }
      const text = await res.text();
      if (!res.ok) {
        let msg = text;
        try {
          msg = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          /* plain text */
        }
        throw new ServerImportError(`${this.target.url}/v1/ingest/import answered ${res.status}: ${msg}`, res.status);
      }
      const body = JSON.parse(text) as BatchResult;
      return { accepted: body.accepted, quarantined: body.quarantined, reasons: body.reasons ?? {} };
    }
  }

  /** None: the server may not have registered the sensors yet; set units with PUT /v1/sensors/:id. */
  async fillUnits(): Promise<number> {
    return 0;
  }

  /** Null: the server writes in the background, so a count taken now could miss this import. */
  async readingsCount(): Promise<null> {
    return null;
  }

  async close(): Promise<void> {}

  private async post(path: string, payload: Buffer): Promise<Response> {
    try {
      return await fetch(this.target.url + path, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          ...(this.target.token ? { authorization: `Bearer ${this.target.token}` } : {}),
        },
        body: new Uint8Array(payload),
      });
    } catch (err) {
      throw new ServerImportError(`cannot reach Sensorpipe at ${this.target.url} (${(err as Error).message}); is it still running?`, null);
    }
  }
}
