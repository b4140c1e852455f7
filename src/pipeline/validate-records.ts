/**
 * The record-level checks of Sensorpipe JSON (the rule table in validate.ts): one decoded record
 * at a time, its id, time, sequence number and readings, into accepted readings and quarantine
 * items with their reason. Shared by the MQTT/HTTP JSON decoder and NDJSON.
 */
import { isValidId } from '../core/ids.js';
import type { MetricSpec, RegistryView } from '../core/registry.js';
import type { MessageScope, ValidateContext } from './validate.js';
import type { QuarantineReason } from '../core/reasons.js';
import type { Reading, Validated } from '../core/types.js';
import { boundedJson, capText, describeValue, quote } from './decode/describe.js';
import { MAX_SAFE, invalidIdDetail, notOwnedDetail, timeLimits, timeProblem, unknownSensorProblem, valueProblem } from './validate-problems.js';
import { explainTimestamp, parseTimestamp, type EpochUnit } from './timestamps.js';

/** Mutable state of one message; the per-record fields are overwritten for each record (no per-record allocation). */
interface Run {
  out: Validated;
  topic: string | null;
  owns: ((sensorId: string) => boolean) | undefined;
  registry: RegistryView;
  defaults: Record<string, MetricSpec>;
  unit: EpochUnit;
  minMs: number;
  maxMs: number;
  nowMs: number;
  skewS: number;
  minText: string;
  isArray: boolean;
  /** How details name record i (`record #i` when null). */
  label: ((i: number) => string) | null;
  // current record
  index: number;
  record: Record<string, unknown>;
  sensorId: string;
  ts: number;
  seq: number | null;
  specs: Record<string, MetricSpec> | undefined;
  registered: boolean;
}

function noun(r: Run): string {
  return r.label === null ? `record #${r.index}` : r.label(r.index);
}

function where(r: Run): string {
  return r.isArray ? `${noun(r)}: ` : '';
}

function push(
  r: Run,
  reason: QuarantineReason,
  detail: string,
  sensorId: string | null,
  metric: string | null,
  ts: number | null,
  payload: string,
): void {
  r.out.quarantined.push({ reason, detail, sensorId, metric, ts, payload });
}

/** One item for the current record as a whole. */
function recordItem(r: Run, reason: QuarantineReason, detail: string, sensorId: string | null, ts: number | null): void {
  push(r, reason, where(r) + detail, sensorId, null, ts, boundedJson(r.record));
}

/** One item for a single reading of the current record. */
function readingItem(r: Run, reason: QuarantineReason, detail: string, metric: string | null, name: string, value: unknown): void {
  const seq = r.seq === null ? '' : `,"seq":${r.seq}`;
  const payload = capText(
    `{"sensor_id":${JSON.stringify(r.sensorId)},"ts":${boundedJson(r.record.ts)}${seq},"readings":{${boundedJson(name)}:${boundedJson(value)}}}`,
  );
  push(r, reason, where(r) + detail, r.sensorId, metric, r.ts, payload);
}

/**
 * The record-level half of `validateMessage`: checks already-decoded Sensorpipe JSON records (as
 * `decodeSensorpipeJson` returns them, or one per NDJSON line) and appends to `out`. `scope.topicSensorId`
 * must be null or a valid id. `label(i)` names record i in details (default `record #i`). May throw
 * only if `scope.owns` or the registry throws: callers wrap it as `validateMessage` does.
 */
export function validateRecords(
  records: unknown[],
  scope: MessageScope,
  ctx: ValidateContext,
  out: Validated,
  opts: { isArray: boolean; label?: (i: number) => string },
): void {
  const cfg = ctx.config;
  const lim = timeLimits(ctx);
  const r: Run = {
    out,
    topic: scope.topicSensorId,
    owns: scope.owns,
    registry: ctx.registry,
    defaults: ctx.metricDefaults,
    unit: cfg.epochUnit,
    minMs: lim.minMs,
    maxMs: lim.maxMs,
    nowMs: lim.nowMs,
    skewS: lim.skewS,
    minText: lim.minText,
    isArray: opts.isArray,
    label: opts.label ?? null,
    index: 0,
    record: EMPTY,
    sensorId: '',
    ts: 0,
    seq: null,
    specs: undefined,
    registered: false,
  };
  for (let i = 0; i < records.length; i++) {
    r.index = i;
    validateRecord(r, records[i]);
  }
}

const EMPTY: Record<string, unknown> = {};

function validateRecord(r: Run, rec: unknown): void {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
    const kind = rec === null ? 'null' : Array.isArray(rec) ? 'an array' : `a ${typeof rec}`;
    r.out.quarantined.push({
      reason: 'schema',
      detail:
        `${noun(r)} is ${kind}; every record must be an object like ` +
        '{"ts": "2024-05-01T12:00:00Z", "temperature": 21.4}',
      sensorId: r.topic,
      metric: null,
      ts: null,
      payload: boundedJson(rec),
    });
    return;
  }
  const o = rec as Record<string, unknown>;
  r.record = o;
  const topic = r.topic;

  // --- which sensor -------------------------------------------------------------------------
  let sensorId: string;
  const sid = o.sensor_id;
  if (sid === undefined || sid === null) {
    if (topic === null) {
      recordItem(
        r,
        'schema',
        'the record has no "sensor_id"; requests without a sensor in the topic or URL must name the sensor in every record',
        null,
        null,
      );
      return;
    }
    sensorId = topic;
  } else if (sid === topic) {
    sensorId = topic;
  } else if (typeof sid !== 'string') {
    recordItem(r, 'schema', `"sensor_id" is ${describeValue(sid)}; it must be a string`, topic, null);
    return;
  } else if (!isValidId(sid)) {
    recordItem(r, 'invalid_id', invalidIdDetail('sensor_id', sid), topic, null);
    return;
  } else if (topic !== null) {
    recordItem(
      r,
      'identity_mismatch',
      `the record names sensor_id ${quote(sid)} but was published on the topic of sensor ${quote(topic)}; ` +
        `a device may only write its own topic (omit sensor_id, or publish to sensors/${sid}/telemetry)`,
      topic,
      null,
    );
    return;
  } else {
    sensorId = sid;
  }
  if (r.owns !== undefined && !r.owns(sensorId)) {
    recordItem(r, 'identity_mismatch', notOwnedDetail(sensorId), sensorId, null);
    return;
  }
  r.sensorId = sensorId;

  // --- seq and shape ------------------------------------------------------------------------
  const sq = o.seq;
  let seq: number | null = null;
  if (sq !== undefined && sq !== null) {
    if (typeof sq !== 'number' || !Number.isSafeInteger(sq) || sq < 0) {
      recordItem(
        r,
        'schema',
        `"seq" is ${describeValue(sq)}; it must be an integer from 0 to ${MAX_SAFE}`,
        sensorId,
        null,
      );
      return;
    }
    seq = sq;
  }
  r.seq = seq;
  const rd = o.readings;
  if (rd !== undefined && (typeof rd !== 'object' || rd === null || Array.isArray(rd))) {
    recordItem(
      r,
      'schema',
      `"readings" is ${describeValue(rd)}; it must be an object mapping metric names to numbers, e.g. {"temperature": 21.4}`,
      sensorId,
      null,
    );
    return;
  }

  // --- time ---------------------------------------------------------------------------------
  const tsRaw = o.ts;
  const ts = tsRaw === undefined ? NaN : parseTimestamp(tsRaw, r.unit);
  if (ts !== ts) {
    let detail = explainTimestamp(tsRaw, r.unit);
    if (tsRaw === undefined) {
      const alt = o.timestamp !== undefined ? 'timestamp' : o.time !== undefined ? 'time' : null;
      detail += alt ? ` (found "${alt}": the field must be called "ts")` : '; every record needs "ts" (ISO-8601 with a zone, or epoch)';
    }
    recordItem(r, 'bad_timestamp', detail, sensorId, null);
    return;
  }
  if (ts < r.minMs || ts > r.maxMs) {
    const p = timeProblem(ts, `ts ${boundedJson(tsRaw, 80)}`, r);
    if (p !== null) {
      recordItem(r, p.reason, p.detail, sensorId, null);
      return;
    }
  }
  r.ts = ts;

  // --- registry -----------------------------------------------------------------------------
  const spec = r.registry.get(sensorId);
  if (spec === undefined && r.registry.policy === 'strict') {
    const p = unknownSensorProblem(r.registry, sensorId);
    if (p !== null) {
      recordItem(r, p.reason, p.detail, sensorId, ts);
      return;
    }
  }
  r.registered = spec !== undefined;
  r.specs = spec !== undefined ? spec.metrics : undefined;

  // --- readings -----------------------------------------------------------------------------
  let count = 0;
  if (rd !== undefined) {
    const readings = rd as Record<string, unknown>;
    for (const k in readings) {
      count++;
      checkReading(r, k, readings[k]);
    }
    if (count === 0) {
      recordItem(r, 'schema', 'the record has no metrics: "readings" is empty', sensorId, ts);
      return;
    }
    for (const k in o) {
      if (k === 'readings' || k === 'ts' || k === 'sensor_id' || k === 'seq') continue;
      readingItem(
        r,
        'schema',
        `key ${quote(k)} is next to "readings"; in the nested form every metric must be inside "readings" ` +
          '(or use the flat form without "readings")',
        isValidId(k) ? k : null,
        k,
        o[k],
      );
    }
  } else {
    for (const k in o) {
      if (k === 'ts' || k === 'sensor_id' || k === 'seq') continue;
      count++;
      checkReading(r, k, o[k]);
    }
    if (count === 0) {
      recordItem(
        r,
        'schema',
        'the record has no metrics: besides sensor_id, ts and seq it needs at least one metric, e.g. "temperature": 21.4 ' +
          '(or "readings": {"temperature": 21.4})',
        sensorId,
        ts,
      );
    }
  }
}

function checkReading(r: Run, name: string, v: unknown): void {
  const p = valueProblem(name, v, r.specs, r.defaults, r.sensorId);
  if (p === null) {
    pushReading(r, name, v as number);
    return;
  }
  // invalid_id: the name itself is the problem, so the item names no metric.
  readingItem(r, p.reason, p.detail, p.reason === 'invalid_id' ? null : name, name, v);
}

function pushReading(r: Run, metric: string, value: number): void {
  const reading: Reading = { sensorId: r.sensorId, metric, ts: r.ts, value, seq: r.seq };
  r.out.readings.push(reading);
}
