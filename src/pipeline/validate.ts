/**
 * Decoding and validation of one Sensorpipe JSON message: the hot path. This file decodes the
 * message and holds the rule table; the per-record checks are in validate-records.ts, the per-value
 * judgements shared with the other formats in validate-problems.ts.
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
import type { Clock, Message, Validated } from '../core/types.js';
import type { ValidationConfig } from '../config/schema.js';
import { decodeSensorpipeJson } from './decode/sensorpipe-json.js';
import { bytesExcerpt, explainBadId, quote } from './decode/describe.js';

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

export { validateRecords } from './validate-records.js';
import { validateRecords } from './validate-records.js';

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
