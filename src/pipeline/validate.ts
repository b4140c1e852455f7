/**
 * Decoding and validation of one Sensorpipe JSON message: the hot path.
 *
 * `validateMessage` never throws: every problem becomes a QuarantineItem whose reason comes from
 * src/core/reasons.ts and whose detail names the field, the value and what is allowed.
 *
 * Payload format: one object or an array of objects (records). A record is either nested
 *   {"sensor_id"?, "ts", "seq"?, "readings": {"temperature": 21.4, ...}}
 * or flat (every key other than sensor_id / ts / seq is a metric)
 *   {"sensor_id"?, "ts", "seq"?, "temperature": 21.4, ...}
 *
 * Granularity: a message-level problem gives ONE item for the whole payload; a record-level
 * problem gives ONE item for the record (metric null); a reading-level problem gives one item
 * for that reading and the record's other readings are still accepted.
 *
 * Rule table (checked in this order; the first failure decides):
 *
 *  level    | condition                                                        | reason
 *  ---------+------------------------------------------------------------------+-------------------
 *  message  | scope.topicSensorId set but not a valid id                       | invalid_id
 *  message  | payload > validation.maxPayloadBytes (not parsed)                | payload_too_large
 *  message  | empty, not UTF-8 (a leading BOM is tolerated), not JSON          | invalid_json
 *           | (NaN / Infinity literals are not JSON, so they land here)        |
 *  message  | top level not object/array, empty array, > MAX_RECORDS elements  | schema
 *  record   | element is not an object                                         | schema
 *  record   | sensor_id present (not null) but not a string                    | schema
 *  record   | sensor_id is a string outside the id alphabet                    | invalid_id
 *  record   | sensor_id differs from the topic's sensor                        | identity_mismatch
 *  record   | no topic (HTTP) and no sensor_id                                 | schema
 *  record   | scope.owns(sensor) is false                                      | identity_mismatch
 *  record   | seq present (not null) and not a safe integer >= 0               | schema
 *  record   | "readings" present but not an object (array, number, null, ...)  | schema
 *  record   | ts missing, wrong type, unparseable, ISO without zone,           | bad_timestamp
 *           | ambiguous epoch magnitude (auto), negative, before minTimestamp  |
 *  record   | ts > clock.now() + validation.maxFutureSkewS                     | future_timestamp
 *  record   | sensor not registered and registry.policy is 'strict'            | unknown_sensor
 *  record   | no metrics ("readings" empty, or flat record with no metric key) | schema
 *  reading  | nested form: a key other than sensor_id/ts/seq next to readings  | schema
 *  reading  | metric name outside the id alphabet                              | invalid_id
 *  reading  | value is an object or array (nesting is not supported)           | schema
 *  reading  | value is null                                                    | non_finite
 *  reading  | value is a string (even "21.4" or "NaN") or a boolean            | non_finite
 *  reading  | value overflowed to ±Infinity (a literal like 1e400)             | non_finite
 *  reading  | |value| > 2^53 - 1 (precision already lost when parsed)          | non_finite
 *  reading  | value < min or > max (inclusive bounds) of the metric's spec     | out_of_range
 *
 * Value rule in one line: a reading's value must be a JSON number that is finite and within
 * ±(2^53 - 1); any other scalar (null, string, boolean) is `non_finite` ("not a finite number",
 * as the reason catalogue says), while a structure (object, array) is `schema` (wrong shape).
 *
 * Limits for the range check: the registered sensor's spec for that metric; when the sensor is
 * not registered (policy 'auto') or does not list that metric, ctx.metricDefaults; none -> no check.
 * `null` for sensor_id or seq means "absent". validation.minTimestamp falls back to
 * 2000-01-01T00:00:00Z if it cannot be parsed.
 *
 * Accepted Readings carry ts in epoch ms UTC (sub-ms precision rounded down) and seq or null.
 * QuarantineItem.ts is the record's time when it was valid; it is null for timestamp reasons and
 * for problems found before the time could be read. QuarantineItem.payload is the offending part
 * as text: the whole payload, the record's JSON, or for a reading a one-reading record
 * {"sensor_id","ts","seq"?,"readings":{metric: value}}; capped at 64 KiB with a marker.
 * Duplicates are not detected here (the warehouse does it).
 */
import { isValidId } from '../core/ids.js';
import type { MetricSpec, RegistryView } from '../core/registry.js';
import type { QuarantineReason } from '../core/reasons.js';
import type { Clock, Message, Reading, Validated } from '../core/types.js';
import type { ValidationConfig } from '../config/schema.js';
import { decodeSensorpipeJson } from './decode/sensorpipe-json.js';
import { boundedJson, bytesExcerpt, capText, describeValue, explainBadId, quote } from './decode/describe.js';
import { MAX_SAFE, invalidIdDetail, notOwnedDetail, timeLimits, timeProblem, unknownSensorProblem, valueProblem } from './validate-problems.js';
import { explainTimestamp, parseTimestamp, type EpochUnit } from './timestamps.js';

export interface ValidateContext {
  registry: RegistryView;
  config: ValidationConfig;
  /** Limits for metrics of sensors that are not registered (or do not list the metric). */
  metricDefaults: Record<string, MetricSpec>;
  clock: Clock;
}

export interface MessageScope {
  /** Sensor id taken from the MQTT topic; null when the transport has no topic (HTTP). */
  topicSensorId: string | null;
  /** When set, the caller may only write these sensors (HTTP device tokens); others are identity_mismatch. */
  owns?: (sensorId: string) => boolean;
}

export {
  invalidIdDetail,
  notOwnedDetail,
  timeLimits,
  timeProblem,
  unknownSensorProblem,
  valueProblem,
  type Problem,
  type TimeLimits,
} from './validate-problems.js';

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

/** Decode and validate one message. Never throws. */
export function validateMessage(message: Message, scope: MessageScope, ctx: ValidateContext): Validated {
  const out: Validated = { readings: [], quarantined: [] };
  try {
    run(message, scope, ctx, out);
  } catch (err) {
    // Last-resort net: a bug here (or a throwing registry/owns callback) must not lose the message.
    let payload = '';
    try {
      payload = bytesExcerpt(message.payload);
    } catch {
      payload = '';
    }
    const msg = err instanceof Error ? err.message : String(err);
    const topic = scope && typeof scope.topicSensorId === 'string' && isValidId(scope.topicSensorId) ? scope.topicSensorId : null;
    out.readings = [];
    out.quarantined = [
      {
        reason: 'schema',
        detail: `internal validation error (please report this as a Sensorpipe bug): ${msg.slice(0, 300)}`,
        sensorId: topic,
        metric: null,
        ts: null,
        payload,
      },
    ];
  }
  return out;
}

function run(message: Message, scope: MessageScope, ctx: ValidateContext, out: Validated): void {
  const topic = scope.topicSensorId;
  const payload = message.payload;
  if (topic !== null && !isValidId(topic)) {
    out.quarantined.push({
      reason: 'invalid_id',
      detail: `the topic names sensor ${quote(String(topic))}, which is not a valid id: ${explainBadId(String(topic))}`,
      sensorId: null,
      metric: null,
      ts: null,
      payload: bytesExcerpt(payload),
    });
    return;
  }
  const cfg = ctx.config;
  const dec = decodeSensorpipeJson(payload, cfg.maxPayloadBytes);
  if (!dec.ok) {
    out.quarantined.push({
      reason: dec.reason,
      detail: dec.detail,
      sensorId: topic,
      metric: null,
      ts: null,
      payload: bytesExcerpt(payload),
    });
    return;
  }
  validateRecords(dec.records, scope, ctx, out, { isArray: dec.isArray });
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
