/**
 * The body of `PostgresWarehouse.writeBatch`, run by the caller inside ONE transaction (BEGIN …
 * COMMIT, ROLLBACK on any error: all or nothing) that holds the schema's write lock.
 *
 * Per batch: readings -> TEMP `wh_stage` through COPY (CSV); ANALYZE of the stage (a temp table
 * has no statistics, and without them the planner may hash-join the whole `readings` table
 * instead of probing its primary key); one classification INSERT into TEMP `wh_cls` (window "first
 * by spool order" + LEFT JOIN on the stored rows through the primary key); one INSERT … SELECT of
 * the new rows with ON CONFLICT DO NOTHING. The verdicts, conflict rows, accounting deltas and
 * replay answers come from batch-plan.ts, shared with DuckDB, so both engines answer identically.
 *
 * The primary key on (sensor_id, metric, ts) is the last guard: should another process insert
 * the same key between classification and insert (several writers on one schema), fewer rows
 * are inserted than classified, the batch is rolled back with an error, and the writer's retry
 * classifies it again against the now-stored row.
 */
import { Readable } from 'node:stream';
import { registerPairsStatements } from './register-pairs.js';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MetricSpec } from '../../core/registry.js';
import { isQuarantineReason } from '../../core/reasons.js';
import type { DerivedQuarantine, Logger, SinkBatch, WarehouseOutcome } from '../../core/types.js';
import {
  compareConflicts,
  conflictFor,
  countDeltas,
  mergeOutcomes,
  planBatch,
  readingsAtOrBelow,
  type BatchPlan,
  type Verdict,
} from './batch-plan.js';
import { csvLine, msFromPg, pgTs } from './postgres-values.js';
import { WAREHOUSE_SINK } from './schema-duckdb.js';

export interface PgWriteContext {
  metricDefaults: Record<string, MetricSpec>;
  logger: Logger;
  /** (sensor_id, metric) pairs known to be registered (see WriteContext in duckdb-write-batch.ts). */
  knownPairs: Set<string>;
  /** Filled here: pairs now registered; the caller adds them to knownPairs after COMMIT. */
  registered: string[];
}

type Row = Record<string, unknown>;

/** Same key as duckdb-write-batch.ts (not imported: that module loads the DuckDB binding). */
const pairKey = (sensorId: string, metric: string): string => `${sensorId}\u0000${metric}`;

async function rows(c: pg.ClientBase, sql: string, params: unknown[] = []): Promise<Row[]> {
  return (await c.query(sql, params)).rows as Row[];
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export async function loadKnownPairsPg(c: pg.ClientBase): Promise<Set<string>> {
  const r = await rows(c, 'SELECT sensor_id, metric FROM sensor_metrics');
  return new Set(r.map((x) => pairKey(String(x.sensor_id), String(x.metric))));
}

/** High-water mark; -1 when nothing was written. `forUpdate` locks the row for the rest of the transaction. */
export async function readCommittedOffsetPg(c: pg.ClientBase, forUpdate = false): Promise<number> {
  const r = await rows(c, `SELECT committed_offset FROM sink_offsets WHERE sink = $1${forUpdate ? ' FOR UPDATE' : ''}`, [WAREHOUSE_SINK]);
  return r.length === 0 ? -1 : (num(r[0].committed_offset) ?? -1);
}

/** Streams CSV lines into `COPY <target> FROM STDIN`, in chunks of a few hundred rows. */
async function copyCsv(c: pg.ClientBase, target: string, lines: Iterable<string>): Promise<void> {
  function* chunks(): Generator<string> {
    let buf: string[] = [];
    for (const l of lines) {
      buf.push(l);
      if (buf.length === 500) {
        yield buf.join('');
        buf = [];
      }
    }
    if (buf.length > 0) yield buf.join('');
  }
  await pipeline(Readable.from(chunks()), c.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT csv)`)));
}

/** A sequence number that is not a safe integer is stored as NULL (it must not make the batch fail forever). */
const seqOf = (seq: number | null): number | null => (seq !== null && Number.isSafeInteger(seq) ? seq : null);

async function stageReadings(c: pg.ClientBase, plan: BatchPlan): Promise<void> {
  await copyCsv(
    c,
    'wh_stage (ord, spool_offset, sensor_id, metric, ts, value, received_at, source, seq)',
    (function* () {
      for (const p of plan.readings) {
        const m = p.record.message;
        const r = p.reading;
        yield csvLine([p.ord, p.record.offset, r.sensorId, r.metric, pgTs(r.ts), r.value, pgTs(m.receivedAt), m.source, seqOf(r.seq)]);
      }
    })(),
  );
  await c.query('ANALYZE wh_stage');
}

async function classifyAndInsert(c: pg.ClientBase, plan: BatchPlan): Promise<Map<number, Verdict>> {
  await c.query(`INSERT INTO wh_cls
    SELECT s.ord, s.spool_offset, s.sensor_id, s.metric, s.ts, s.value, s.received_at, s.source, s.seq,
           r.value, (r.sensor_id IS NOT NULL), first_value(s.value) OVER w, row_number() OVER w
    FROM wh_stage s
    LEFT JOIN readings r ON r.sensor_id = s.sensor_id AND r.metric = s.metric AND r.ts = s.ts
    WINDOW w AS (PARTITION BY s.sensor_id, s.metric, s.ts ORDER BY s.ord)`);
  const ins = await c.query(`INSERT INTO readings (sensor_id, metric, ts, value, received_at, source, seq, spool_offset)
    SELECT sensor_id, metric, ts, value, received_at, source, seq, spool_offset
    FROM wh_cls WHERE NOT found AND rn = 1 ORDER BY ord
    ON CONFLICT DO NOTHING`);
  const rest = await rows(
    c,
    `SELECT ord, coalesce(existing_value, first_value) AS kept, (value = coalesce(existing_value, first_value)) AS same
     FROM wh_cls WHERE found OR rn > 1`,
  );
  const verdicts = new Map<number, Verdict>();
  for (const r of rest) {
    const ord = num(r.ord) as number;
    verdicts.set(ord, { ord, duplicate: r.same === true, keptValue: num(r.kept) as number });
  }
  const expected = plan.readings.length - verdicts.size;
  if (ins.rowCount !== expected) {
    throw new Error(
      `warehouse: inserted ${ins.rowCount} readings, expected ${expected}: another process wrote the same readings ` +
        'at the same time (batch rolled back; the writer retries it)',
    );
  }
  return verdicts;
}

async function insertQuarantine(c: pg.ClientBase, plan: BatchPlan, conflicts: DerivedQuarantine[]): Promise<void> {
  if (conflicts.length === 0 && plan.messages.every((m) => m.quarantined.length === 0)) return;
  const line = (
    q: { reason: string; detail: string; sensorId: string | null; metric: string | null; ts: number | null; payload: string },
    rec: { receivedAt: number; source: string; topic: string; deviceId: string | null; offset: number },
    detectedBy: 'validation' | 'warehouse',
  ) =>
    csvLine([
      pgTs(rec.receivedAt),
      rec.source,
      rec.topic,
      rec.deviceId,
      q.sensorId,
      q.metric,
      q.ts === null || !Number.isFinite(q.ts) ? null : pgTs(q.ts),
      q.reason,
      q.detail,
      q.payload,
      rec.offset,
      detectedBy,
    ]);
  await copyCsv(
    c,
    'quarantine (received_at, source, topic, device_id, sensor_id, metric, ts, reason, detail, payload, spool_offset, detected_by)',
    (function* () {
      for (const r of plan.messages) {
        const rec = { ...r.message, offset: r.offset };
        for (const q of r.quarantined) yield line(q, rec, 'validation');
      }
      for (const q of conflicts) yield line(q, q, 'warehouse');
    })(),
  );
}

async function autoRegister(c: pg.ClientBase, ctx: PgWriteContext): Promise<void> {
  const newSensors = await c.query(`INSERT INTO sensors (sensor_id, location, type, expected_interval_s, created_at)
    SELECT s.sensor_id, NULL, NULL, NULL, min(s.received_at)
    FROM wh_stage s WHERE NOT EXISTS (SELECT 1 FROM sensors x WHERE x.sensor_id = s.sensor_id)
    GROUP BY s.sensor_id
    ON CONFLICT DO NOTHING`);
  const pairs = await rows(
    c,
    `SELECT DISTINCT s.sensor_id, s.metric FROM wh_stage s
     WHERE NOT EXISTS (SELECT 1 FROM sensor_metrics x WHERE x.sensor_id = s.sensor_id AND x.metric = s.metric)
     ORDER BY 1, 2`,
  );
  const statements = registerPairsStatements(
    pairs.map((p) => ({ sensorId: String(p.sensor_id), metric: String(p.metric) })),
    ctx.metricDefaults,
    '::double precision',
  );
  for (const st of statements) await c.query(st.sql, st.params);
  if ((newSensors.rowCount ?? 0) > 0 || pairs.length > 0) {
    ctx.logger.info({ sensors: newSensors.rowCount, metrics: pairs.length }, 'auto-registered sensors/metrics');
  }
}

async function addCounts(c: pg.ClientBase, plan: BatchPlan, verdicts: Map<number, Verdict>): Promise<void> {
  const deltas = countDeltas(plan, verdicts);
  if (deltas.length === 0) return;
  const params: unknown[] = [];
  const tuples = deltas.map((d, i) => {
    params.push(pgTs(d.hour), d.source, d.outcome, d.reason, d.items);
    const b = i * 5;
    return `(CAST($${b + 1} AS TIMESTAMP), $${b + 2}, $${b + 3}, $${b + 4}, CAST($${b + 5} AS BIGINT))`;
  });
  await c.query(
    `INSERT INTO ingest_counts (hour, source, outcome, reason, items) VALUES ${tuples.join(', ')}
     ON CONFLICT (hour, source, outcome, reason) DO UPDATE SET items = ingest_counts.items + excluded.items`,
    params,
  );
}

/** The outcome stored for the part of `batch` at or below `upTo` (see storedOutcome in duckdb-write-batch.ts). */
async function storedOutcome(c: pg.ClientBase, batch: SinkBatch, upTo: number): Promise<WarehouseOutcome> {
  const range = [batch.fromOffset, upTo];
  const ins = await rows(c, 'SELECT count(*) AS n FROM readings WHERE spool_offset BETWEEN $1 AND $2', range);
  const q = await rows(
    c,
    `SELECT received_at, source, topic, device_id, sensor_id, metric, ts, reason, detail, payload, spool_offset
     FROM quarantine WHERE detected_by = 'warehouse' AND spool_offset BETWEEN $1 AND $2`,
    range,
  );
  const conflicts: DerivedQuarantine[] = q.map((r) => {
    const reason = String(r.reason);
    return {
      reason: isQuarantineReason(reason) ? reason : 'conflicting_duplicate',
      detail: String(r.detail),
      sensorId: str(r.sensor_id),
      metric: str(r.metric),
      ts: msFromPg(r.ts),
      payload: String(r.payload),
      offset: num(r.spool_offset) as number,
      source: String(r.source),
      topic: String(r.topic),
      deviceId: str(r.device_id),
      receivedAt: msFromPg(r.received_at) as number,
    };
  });
  conflicts.sort(compareConflicts);
  const inserted = num(ins[0].n) ?? 0;
  const total = readingsAtOrBelow(batch.records, upTo);
  return { inserted, duplicates: Math.max(0, total - inserted - conflicts.length), conflicts };
}

/** Runs inside the caller's transaction. */
export async function writeBatchInTransactionPg(c: pg.ClientBase, batch: SinkBatch, ctx: PgWriteContext): Promise<WarehouseOutcome> {
  const committed = await readCommittedOffsetPg(c, true);
  if (batch.toOffset <= committed) return storedOutcome(c, batch, batch.toOffset);

  const t0 = performance.now();
  const plan = planBatch(batch.records, committed);
  let verdicts = new Map<number, Verdict>();
  let tStaged = t0;
  if (plan.readings.length > 0) {
    await stageReadings(c, plan);
    tStaged = performance.now();
    verdicts = await classifyAndInsert(c, plan);
  }
  const t1 = performance.now();
  const conflicts: DerivedQuarantine[] = [];
  let duplicates = 0;
  for (const v of verdicts.values()) {
    if (v.duplicate) duplicates++;
    else conflicts.push(conflictFor(plan.readings[v.ord], v.keptValue));
  }
  conflicts.sort(compareConflicts);
  await insertQuarantine(c, plan, conflicts);
  const pairs = new Set(plan.readings.map((p) => pairKey(p.reading.sensorId, p.reading.metric)));
  const unknown = [...pairs].filter((k) => !ctx.knownPairs.has(k));
  if (unknown.length > 0) {
    await autoRegister(c, ctx);
    ctx.registered.push(...unknown);
  }
  await addCounts(c, plan, verdicts);
  await c.query(
    `INSERT INTO sink_offsets (sink, committed_offset) VALUES ($1, $2)
     ON CONFLICT (sink) DO UPDATE SET committed_offset = excluded.committed_offset`,
    [WAREHOUSE_SINK, batch.toOffset],
  );
  let outcome: WarehouseOutcome = { inserted: plan.readings.length - verdicts.size, duplicates, conflicts };
  if (batch.fromOffset <= committed) outcome = mergeOutcomes(await storedOutcome(c, batch, committed), outcome);
  ctx.logger.debug(
    {
      from: batch.fromOffset,
      to: batch.toOffset,
      readings: plan.readings.length,
      inserted: outcome.inserted,
      duplicates: outcome.duplicates,
      conflicts: outcome.conflicts.length,
      stageMs: Math.round(tStaged - t0),
      classifyInsertMs: Math.round(t1 - tStaged),
      totalMs: Math.round(performance.now() - t0),
    },
    'warehouse batch',
  );
  return outcome;
}
