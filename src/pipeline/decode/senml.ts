/**
 * SenML JSON (RFC 8428, `application/senml+json`) -> readings, with the same checks and reason
 * codes as Sensorpipe JSON (the shared checks of ../validate.ts). Never throws.
 *
 * A pack is a JSON array of records. Base fields (bn, bt, bu, bv, bs, bver) apply to the record
 * that carries them and to every later record until another record sets them again (RFC 8428 §4.1).
 *
 * Name -> sensor and metric. The resolved name is bn + n. Then:
 *   1. a device URN (RFC 9039) "urn:dev:<type>:<id>…": the sensor is <id> (up to the next ":" or "/"),
 *      the metric is what follows that separator:
 *      bn "urn:dev:ow:10e2073a01080063:", n "temp"       -> sensor 10e2073a01080063, metric temp
 *   2. otherwise, a name with "/": the metric is the text after the LAST "/", the sensor the text before:
 *      bn "greenhouse-1/", n "temperature"               -> sensor greenhouse-1, metric temperature
 *   3. otherwise, a name with ":": split at the LAST ":" the same way:
 *      bn "greenhouse-1:", n "temperature"               -> sensor greenhouse-1, metric temperature
 *   4. a name with no "/" or ":" names no sensor (schema).
 *   5. an empty metric (a bare device URN, or a name ending in the separator) is taken from the unit
 *      (u, else bu), with "%" written "pct_" and "/" written "_per_": RFC 8428 §5.1.4 names a device
 *      and tells its quantities apart by unit: u "%RH" -> pct_RH, "lon" -> lon, "Cel" -> Cel, "m/s" -> m_per_s.
 * The sensor id and the metric must then be valid ids like any other (^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$).
 *
 * Time: t + bt, in seconds (fractions allowed). A resolved time >= 2^28 is absolute (seconds since
 * the epoch); a smaller one (including 0 and negatives, and a record without t or bt) is relative to
 * the moment the message was received (message.receivedAt): t = -60 means one minute before receipt.
 *
 * Value: bv + v. A record with no value field takes bv when a base value is in effect (RFC 8428:
 * a missing Value counts as zero). The sum s (+ bs) is stored as a second reading whose metric is
 * the record's metric + "_sum". Units (u, bu) are not checked or converted; ut and l are ignored.
 * A record carrying only base fields is not a measurement: it sets the bases and yields nothing.
 *
 *  level    | condition                                                          | reason
 *  ---------+--------------------------------------------------------------------+-------------------
 *  message  | payload > maxPayloadBytes                                          | payload_too_large
 *  message  | empty, not UTF-8, not JSON                                         | invalid_json
 *  message  | not an array, empty, > MAX_RECORDS records                         | schema
 *  message  | a base field of the wrong type (bn/bu not a string, bt/bv/bs/bver  | schema
 *           | not a number), or bver above 10 (a newer SenML we do not know)     |
 *  message  | only base records: no measurement at all                           | schema
 *  record   | not an object                                                      | schema
 *  record   | a field whose label ends in "_" (must-understand, RFC 8428 §4.4)   | schema
 *  record   | n or u not a string                                                | schema
 *  record   | no name (bn + n empty)                                             | schema
 *  record   | name outside the SenML name characters (A-Z a-z 0-9 - : . / _,     | invalid_id
 *           | starting with a letter or digit)                                   |
 *  record   | name without a sensor part (no "/" or ":" before the metric)       | schema
 *  record   | sensor id outside the id alphabet (e.g. "site/room-1" from a/b/c)  | invalid_id
 *  record   | scope.owns(sensor) is false                                        | identity_mismatch
 *  record   | t not a number, or t + bt not finite                               | bad_timestamp
 *  record   | time before validation.minTimestamp                                | bad_timestamp
 *  record   | time beyond now + validation.maxFutureSkewS                        | future_timestamp
 *  record   | sensor not registered and registry policy strict                   | unknown_sensor
 *  record   | more than one of v, vs, vb, vd                                     | schema
 *  record   | vs, vb or vd (string, boolean, data values: not numeric)           | schema
 *  record   | no value, no sum and no base value                                 | schema
 *  reading  | metric name outside the id alphabet (e.g. too long)                | invalid_id
 *  reading  | v (or s) not a number: null / string / boolean -> non_finite,      | non_finite/schema
 *           | object / array -> schema                                           |
 *  reading  | bv + v not finite or beyond ±2^53                                  | non_finite
 *  reading  | outside the metric's min/max                                       | out_of_range
 *
 * Quarantine items carry the offending record as a one-record pack with the base fields that were
 * in effect folded in (so it reads on its own), details start with `record #i: `.
 */
import { isValidId } from '../../core/ids.js';
import type { MetricSpec } from '../../core/registry.js';
import type { QuarantineReason } from '../../core/reasons.js';
import type { Message, Validated } from '../../core/types.js';
import { epochToMs } from '../timestamps.js';
import {
  invalidIdDetail,
  notOwnedDetail,
  timeLimits,
  timeProblem,
  unknownSensorProblem,
  valueProblem,
  type MessageScope,
  type TimeLimits,
  type ValidateContext,
} from '../validate.js';
import { boundedJson, bytesExcerpt, describeValue, quote } from './describe.js';
import { guarded } from './guard.js';
import { decodeSensorpipeJson } from './sensorpipe-json.js';

/** The SenML version this decoder implements (RFC 8428). */
export const SENML_VERSION = 10;
/** Resolved times below this are relative to "now" (RFC 8428 §4.5.3). */
export const SENML_RELATIVE_LIMIT = 2 ** 28;
/** Characters RFC 8428 §4.5.1 allows in a resolved name. */
const SENML_NAME = /^[A-Za-z0-9][-A-Za-z0-9:./_]*$/;

const BASE_FIELDS = new Set(['bn', 'bt', 'bu', 'bv', 'bs', 'bver']);
const STRING_BASES = ['bn', 'bu'] as const;
const NUMBER_BASES = ['bt', 'bv', 'bs', 'bver'] as const;

export interface SenmlName {
  sensorId: string;
  metric: string;
}

/**
 * Splits a resolved SenML name into sensor id and metric (rules 1-4 above; the metric is '' when the
 * name has none), or returns why it cannot. Does not check the id alphabet: the caller does, to
 * report invalid_id with the right detail.
 */
export function splitSenmlName(name: string): SenmlName | string {
  if (name.startsWith('urn:dev:')) {
    const typeEnd = name.indexOf(':', 8);
    const rest = typeEnd < 0 ? '' : name.slice(typeEnd + 1);
    let cut = 0;
    while (cut < rest.length && rest[cut] !== ':' && rest[cut] !== '/') cut++;
    if (cut === 0) return `name ${quote(name)}: the device URN has no device identifier after "urn:dev:<type>:"`;
    return { sensorId: rest.slice(0, cut), metric: rest.slice(cut + 1) };
  }
  const slash = name.lastIndexOf('/');
  const cut = slash >= 0 ? slash : name.lastIndexOf(':');
  if (cut <= 0) {
    return (
      `name ${quote(name)} does not name a sensor: Sensorpipe reads "<sensor_id>/<metric>", "<sensor_id>:<metric>" ` +
      'or "urn:dev:<type>:<sensor_id>:<metric>" (set bn to e.g. "greenhouse-1/" or "urn:dev:mac:0024befffe804ff1:")'
    );
  }
  return { sensorId: name.slice(0, cut), metric: name.slice(cut + 1) };
}

/** A SenML unit as a metric name (rule 5): "%RH" -> "pct_RH", "m/s" -> "m_per_s", "%" -> "pct". */
export function unitMetric(unit: string): string {
  return unit.replace(/%/g, 'pct_').replace(/\//g, '_per_').replace(/^_+|_+$/g, '');
}

export function validateSenml(message: Message, scope: MessageScope, ctx: ValidateContext): Validated {
  return guarded(message, (out) => run(message, scope, ctx, out));
}

interface Bases {
  bn: string;
  bt: number;
  bu: string | null;
  bv: number | null;
  bs: number | null;
}

function run(message: Message, scope: MessageScope, ctx: ValidateContext, out: Validated): void {
  const payload = message.payload;
  const whole = (reason: QuarantineReason, detail: string): void => {
    out.quarantined.push({ reason, detail, sensorId: null, metric: null, ts: null, payload: bytesExcerpt(payload) });
  };
  const dec = decodeSensorpipeJson(payload, ctx.config.maxPayloadBytes);
  if (!dec.ok) {
    if (dec.reason !== 'schema' || dec.detail.includes('at most') || dec.detail.includes('empty array')) {
      return whole(dec.reason, dec.detail.replace('payload is an empty array', 'the SenML pack is an empty array'));
    }
    return whole('schema', 'payload is not a SenML pack: RFC 8428 packs are a JSON array of records like [{"bn":"greenhouse-1/","n":"temperature","v":21.4}]');
  }
  if (!dec.isArray) {
    return whole('schema', 'payload is a single JSON object; a SenML pack is a JSON array of records: wrap it in [ ]');
  }
  const recs = dec.records;

  // Base fields first, for the whole pack: a pack whose bases are malformed cannot be resolved.
  for (let i = 0; i < recs.length; i++) {
    const o = recs[i];
    if (typeof o !== 'object' || o === null || Array.isArray(o)) continue;
    const rec = o as Record<string, unknown>;
    for (const k of STRING_BASES) {
      if (rec[k] !== undefined && typeof rec[k] !== 'string') {
        return whole('schema', `record #${i}: base field "${k}" is ${describeValue(rec[k])}; it must be a string, and without it the pack cannot be resolved`);
      }
    }
    for (const k of NUMBER_BASES) {
      const v = rec[k];
      if (v !== undefined && (typeof v !== 'number' || v - v !== 0)) {
        return whole('schema', `record #${i}: base field "${k}" is ${describeValue(v)}; it must be a finite number, and without it the pack cannot be resolved`);
      }
    }
    const bver = rec.bver;
    if (typeof bver === 'number' && bver > SENML_VERSION) {
      return whole('schema', `record #${i}: bver ${bver} is a newer SenML version than ${SENML_VERSION} (RFC 8428), which Sensorpipe implements; the pack may rely on fields it does not understand`);
    }
  }

  const lim = timeLimits(ctx);
  const bases: Bases = { bn: '', bt: 0, bu: null, bv: null, bs: null };
  let measurements = 0;
  for (let i = 0; i < recs.length; i++) {
    const o = recs[i];
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      const kind = o === null ? 'null' : Array.isArray(o) ? 'an array' : `a ${typeof o}`;
      out.quarantined.push({
        reason: 'schema',
        detail: `record #${i} is ${kind}; every SenML record must be an object like {"n":"temperature","v":21.4}`,
        sensorId: null,
        metric: null,
        ts: null,
        payload: boundedJson(o),
      });
      measurements++;
      continue;
    }
    const rec = o as Record<string, unknown>;
    if (typeof rec.bn === 'string') bases.bn = rec.bn;
    if (typeof rec.bt === 'number') bases.bt = rec.bt;
    if (typeof rec.bu === 'string') bases.bu = rec.bu;
    if (typeof rec.bv === 'number') bases.bv = rec.bv;
    if (typeof rec.bs === 'number') bases.bs = rec.bs;
    let baseOnly = true;
    for (const k in rec) {
      if (!BASE_FIELDS.has(k)) {
        baseOnly = false;
        break;
      }
    }
    if (baseOnly) continue;
    measurements++;
    record(i, rec, bases, message, scope, ctx, lim, out);
  }
  if (measurements === 0) {
    whole('schema', 'the SenML pack has only base fields (bn, bt, …) and no measurement: every reading needs a record with "v" (and usually "n")');
  }
}

/** The record with the base fields in effect folded in: a one-record pack that reads on its own. */
function resolvedPayload(rec: Record<string, unknown>, b: Bases): string {
  const r: Record<string, unknown> = {};
  if (b.bn !== '') r.bn = b.bn;
  if (b.bt !== 0) r.bt = b.bt;
  if (b.bu !== null) r.bu = b.bu;
  if (b.bv !== null) r.bv = b.bv;
  if (b.bs !== null) r.bs = b.bs;
  for (const k in rec) if (!BASE_FIELDS.has(k) || k === 'bver') r[k] = rec[k];
  return boundedJson([r]);
}

function record(
  i: number,
  rec: Record<string, unknown>,
  b: Bases,
  message: Message,
  scope: MessageScope,
  ctx: ValidateContext,
  lim: TimeLimits,
  out: Validated,
): void {
  const at = `record #${i}: `;
  const item = (reason: QuarantineReason, detail: string, sensorId: string | null, metric: string | null, ts: number | null) => {
    out.quarantined.push({ reason, detail: at + detail, sensorId, metric, ts, payload: resolvedPayload(rec, b) });
  };

  for (const k in rec) {
    if (k.endsWith('_')) {
      return item('schema', `field ${quote(k)} ends in "_": RFC 8428 §4.4 says it must be understood, and Sensorpipe does not know it`, null, null, null);
    }
  }
  const n = rec.n;
  const u = rec.u;
  if (n !== undefined && typeof n !== 'string') return item('schema', `"n" is ${describeValue(n)}; a SenML name must be a string`, null, null, null);
  if (u !== undefined && typeof u !== 'string') return item('schema', `"u" is ${describeValue(u)}; a SenML unit must be a string`, null, null, null);

  // --- name -> sensor and metric -----------------------------------------------------------
  const name = b.bn + (n ?? '');
  if (name === '') {
    return item('schema', 'the record has no name: set "bn" (e.g. "greenhouse-1/") and/or "n" (e.g. "temperature")', null, null, null);
  }
  if (!SENML_NAME.test(name)) {
    return item(
      'invalid_id',
      `name ${quote(name)} is not a valid SenML name: RFC 8428 allows the characters A-Z a-z 0-9 - : . / _ and a letter or digit first`,
      null,
      null,
      null,
    );
  }
  const split = splitSenmlName(name);
  if (typeof split === 'string') return item('schema', split, null, null, null);
  const sensorId = split.sensorId;
  let metric = split.metric;
  if (metric === '') {
    const unit = u ?? b.bu;
    if (unit === undefined || unit === null || unitMetric(unit) === '') {
      return item(
        'schema',
        `name ${quote(name)} names the sensor but no metric, and the record has no unit to tell the quantity: ` +
          'add "n" (e.g. "temperature") or "u"',
        isValidId(sensorId) ? sensorId : null,
        null,
        null,
      );
    }
    metric = unitMetric(unit);
  }
  if (!isValidId(sensorId)) {
    return item('invalid_id', `${invalidIdDetail('sensor id', sensorId)}, taken from the SenML name ${quote(name)}`, null, null, null);
  }
  if (scope.owns !== undefined && !scope.owns(sensorId)) return item('identity_mismatch', notOwnedDetail(sensorId), sensorId, null, null);

  // --- time ---------------------------------------------------------------------------------
  const t = rec.t;
  if (t !== undefined && typeof t !== 'number') {
    return item('bad_timestamp', `"t" is ${describeValue(t)}; SenML times are numbers of seconds`, sensorId, null, null);
  }
  const T = b.bt + (t ?? 0);
  let ts: number;
  let shown: string;
  if (T >= SENML_RELATIVE_LIMIT) {
    ts = epochToMs(T, 's');
    shown = `time ${T} (bt + t, seconds since the epoch)`;
  } else {
    ts = message.receivedAt + epochToMs(T, 's');
    shown = `time ${T} (bt + t; below 2^28, so seconds relative to the receipt at ${new Date(message.receivedAt).toISOString()})`;
  }
  if (ts !== ts) return item('bad_timestamp', `${shown} is not a finite number of seconds`, sensorId, null, null);
  const tp = timeProblem(ts, shown, lim);
  if (tp !== null) return item(tp.reason, tp.detail, sensorId, null, null);
  const up = unknownSensorProblem(ctx.registry, sensorId);
  if (up !== null) return item(up.reason, up.detail, sensorId, null, ts);

  // --- value(s) -----------------------------------------------------------------------------
  let kinds = 0;
  for (const k of ['v', 'vs', 'vb', 'vd']) if (rec[k] !== undefined) kinds++;
  if (kinds > 1) {
    return item('schema', 'the record has more than one of "v", "vs", "vb", "vd"; RFC 8428 allows exactly one value per record', sensorId, null, ts);
  }
  for (const k of ['vs', 'vb', 'vd'] as const) {
    if (rec[k] !== undefined) {
      const what = k === 'vs' ? 'a string value' : k === 'vb' ? 'a boolean value' : 'a data value';
      return item(
        'schema',
        `"${k}" is ${what} (${boundedJson(rec[k], 60)}); Sensorpipe stores numeric readings only: send "v" (e.g. 1 or 0 for on/off)`,
        sensorId,
        isValidId(metric) ? metric : null,
        ts,
      );
    }
  }
  const spec = ctx.registry.get(sensorId);
  const specs: Record<string, MetricSpec> | undefined = spec?.metrics;
  const reading = (m: string, value: unknown) => {
    const p = valueProblem(m, value, specs, ctx.metricDefaults, sensorId);
    if (p !== null) {
      item(p.reason, p.detail, sensorId, p.reason === 'invalid_id' ? null : m, ts);
      return;
    }
    out.readings.push({ sensorId, metric: m, ts, value: value as number, seq: null });
  };
  const v = rec.v;
  const s = rec.s;
  if (v !== undefined) {
    reading(metric, typeof v === 'number' ? (b.bv ?? 0) + v : v);
  } else if (s === undefined) {
    if (b.bv === null) {
      return item('schema', 'the record has no value: add "v" (a number)', sensorId, isValidId(metric) ? metric : null, ts);
    }
    reading(metric, b.bv);
  }
  if (s !== undefined) reading(`${metric}_sum`, typeof s === 'number' ? (b.bs ?? 0) + s : s);
}
