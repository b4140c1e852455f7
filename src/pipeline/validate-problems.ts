/**
 * The judgements validation makes about one value, timestamp or id, with the operator-facing
 * detail text: shared by every decoder (Sensorpipe JSON in validate.ts, SenML, line protocol).
 */
import { isValidId } from '../core/ids.js';
import type { MetricSpec, RegistryView } from '../core/registry.js';
import type { QuarantineReason } from '../core/reasons.js';
import { describeValue, explainBadId, quote } from './decode/describe.js';
import { formatMs, parseIsoTimestamp } from './timestamps.js';
import type { ValidateContext } from './validate.js';

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const DEFAULT_MIN_TS_MS = 946_684_800_000; // 2000-01-01T00:00:00Z

let cachedMinText: unknown = undefined;
let cachedMinMs = DEFAULT_MIN_TS_MS;

/** validation.minTimestamp as epoch ms, parsed once per distinct value. */
function minTimestampMs(text: unknown): number {
  if (text !== cachedMinText) {
    const v = typeof text === 'string' ? parseIsoTimestamp(text) : NaN;
    cachedMinMs = v === v ? v : DEFAULT_MIN_TS_MS;
    cachedMinText = text;
  }
  return cachedMinMs;
}

/** Own-property lookup (metric names like "constructor" must not find Object.prototype members). */
function specFor(specs: Record<string, MetricSpec> | undefined, metric: string): MetricSpec | undefined {
  if (specs === undefined) return undefined;
  const s = specs[metric];
  return s !== undefined && Object.prototype.hasOwnProperty.call(specs, metric) ? s : undefined;
}

// ------------------------------------------------------------------------------------------
// Checks shared with the other decoders (SenML, line protocol): each returns the problem as a
// value (reason + operator detail) or null when the input passes. Same texts for every format.

/** A failed check: the reason code and the operator-readable detail. */
export interface Problem {
  reason: QuarantineReason;
  detail: string;
}

/** The time window of one message: [minMs, maxMs] with maxMs = now + validation.maxFutureSkewS. */
export interface TimeLimits {
  nowMs: number;
  minMs: number;
  maxMs: number;
  skewS: number;
  minText: string;
}

export function timeLimits(ctx: ValidateContext): TimeLimits {
  const cfg = ctx.config;
  const nowMs = ctx.clock.now();
  const skewS = cfg.maxFutureSkewS;
  return { nowMs, minMs: minTimestampMs(cfg.minTimestamp), maxMs: nowMs + skewS * 1000, skewS, minText: cfg.minTimestamp };
}

/** `what` (e.g. `sensor_id "a b"`) is outside the id alphabet: the invalid_id detail. */
export function invalidIdDetail(what: string, s: string): string {
  return `${what} ${quote(s)} is not a valid id: ${explainBadId(s)} (allowed: ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$)`;
}

/** identity_mismatch detail for a sensor the caller's token may not write. */
export function notOwnedDetail(sensorId: string): string {
  return `sensor ${quote(sensorId)} is not one of the sensors this device's token may write`;
}

/** unknown_sensor when the registry policy is strict and the sensor is not registered, else null. */
export function unknownSensorProblem(registry: RegistryView, sensorId: string): Problem | null {
  if (registry.policy !== 'strict' || registry.get(sensorId) !== undefined) return null;
  return {
    reason: 'unknown_sensor',
    detail:
      `sensor ${quote(sensorId)} is not registered and the registry policy is strict; register the sensor first ` +
      '(or set validation.unknownSensorPolicy to auto)',
  };
}

/**
 * bad_timestamp (before validation.minTimestamp) or future_timestamp (beyond the skew) for a valid
 * epoch-ms time, else null. `shown` names the time as sent, e.g. `ts "2024-05-01T12:00:00Z"`.
 */
export function timeProblem(ts: number, shown: string, lim: TimeLimits): Problem | null {
  if (ts < lim.minMs) {
    return {
      reason: 'bad_timestamp',
      detail: `${shown} is ${formatMs(ts)}, before validation.minTimestamp ${lim.minText}: the device clock is probably not set`,
    };
  }
  if (ts > lim.maxMs) {
    const ahead = (ts - lim.nowMs) / 1000;
    return {
      reason: 'future_timestamp',
      detail:
        `${shown} is ${formatMs(ts)}, ${ahead < 1e12 ? ahead.toFixed(1) : ahead.toExponential(2)} s ahead of the server clock ` +
        `(${formatMs(lim.nowMs)}); validation.maxFutureSkewS allows ${lim.skewS} s: check the device clock and its epoch unit`,
    };
  }
  return null;
}

/**
 * The reading-level rules for one metric value (name, type, finiteness, ±2^53, range), in the order
 * of the rule table; null when the reading is accepted. `specs` are the registered sensor's metric
 * specs (undefined when not registered); `defaults` is registry.metricDefaults.
 */
export function valueProblem(
  name: string,
  v: unknown,
  specs: Record<string, MetricSpec> | undefined,
  defaults: Record<string, MetricSpec>,
  sensorId: string,
): Problem | null {
  if (!isValidId(name)) return { reason: 'invalid_id', detail: invalidIdDetail('metric name', name) };
  if (typeof v !== 'number') return badValueProblem(name, v);
  if (v - v !== 0) {
    return {
      reason: 'non_finite',
      detail: `metric ${quote(name)}: the value overflows a 64-bit double (parsed as ${v}); values must be finite numbers`,
    };
  }
  if (v > MAX_SAFE || v < -MAX_SAFE) {
    return {
      reason: 'non_finite',
      detail:
        `metric ${quote(name)}: the value ${v} is beyond ±2^53 (${MAX_SAFE}); it is stored as a double and precision would be lost ` +
        '(scale it down, e.g. send kWh instead of mWh)',
    };
  }
  let limits = specFor(specs, name);
  let from = 'registered for';
  if (limits === undefined) {
    limits = specFor(defaults, name);
    from = 'in registry.metricDefaults, applied to';
    if (limits === undefined) return null;
  }
  const min = limits.min;
  const max = limits.max;
  if ((typeof min === 'number' && v < min) || (typeof max === 'number' && v > max)) {
    const unit = limits.unit ? ` ${limits.unit}` : '';
    const side = typeof min === 'number' && v < min ? `below the minimum ${min}${unit}` : `above the maximum ${max}${unit}`;
    return {
      reason: 'out_of_range',
      detail:
        `metric ${quote(name)} = ${v} is ${side} ${from} sensor ${quote(sensorId)} ` +
        `(valid range ${min ?? '-∞'} .. ${max ?? '+∞'}${unit})`,
    };
  }
  return null;
}

function badValueProblem(name: string, v: unknown): Problem {
  let reason: QuarantineReason = 'non_finite';
  let detail: string;
  if (v === null) {
    detail = `metric ${quote(name)}: the value is null; send a finite JSON number, or leave the metric out when there is no measurement`;
  } else if (typeof v === 'string') {
    const n = v.trim() === '' ? NaN : Number(v);
    detail =
      `metric ${quote(name)}: the value is ${describeValue(v)}; values must be JSON numbers` +
      (n - n === 0 ? ` (send ${n} without quotes)` : ', finite, not text');
  } else if (typeof v === 'boolean') {
    detail = `metric ${quote(name)}: the value is ${describeValue(v)}; values must be JSON numbers (send 1 or 0 for on/off)`;
  } else {
    reason = 'schema';
    detail = `metric ${quote(name)}: the value is ${describeValue(v)}; a metric value must be a single JSON number (nested values are not supported)`;
  }
  return { reason, detail };
}
