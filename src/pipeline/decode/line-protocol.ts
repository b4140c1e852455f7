/**
 * InfluxDB line protocol -> readings (the syntax itself is parsed in line-protocol-parse.ts), so
 * Telegraf and other InfluxDB 2 agents can write to Sensorpipe
 * unchanged. Same checks and reason codes as Sensorpipe JSON (the shared checks of ../validate.ts).
 *
 *   measurement[,tag_key=tag_value…] field_key=field_value[,field_key=field_value…] [timestamp]
 *
 * Syntax (InfluxDB 2 line protocol reference):
 * - Lines end with LF (a CR before it is dropped). Blank lines and lines whose first non-blank
 *   character is "#" (comments) are skipped. Leading spaces and tabs are ignored. A newline inside a
 *   string field value is not supported (as in InfluxDB's reference): it ends the line.
 * - Escapes. Measurement: "\," and "\ ". Tag keys, tag values, field keys: "\,", "\=", "\ ".
 *   In all of them "\\" is one backslash, and a backslash before any other character is literal.
 *   String field values: "\"" and "\\"; any other backslash is literal.
 * - Field values: float (1, -1.5, 1e3, .5), integer (2i), unsigned (2u), string ("…"),
 *   boolean (t T true True TRUE f F false False FALSE).
 * - Timestamp: an integer in the request's precision (ns by default; us, ms, s); missing = the
 *   time the server received the request (as InfluxDB does).
 *
 * Mapping to readings:
 * - sensor id: the value of the first tag named in `sensorTags` that the line carries
 *   (default ["sensor_id", "host"]: Telegraf adds host to every metric). Other tags are ignored.
 * - metric: `<measurement>_<field>` (cpu,host=a usage_idle=93 -> cpu_usage_idle), or just `<field>`
 *   when the measurement is listed in `passthroughMeasurements` (e.g. ["sensor"]:
 *   sensor,sensor_id=gh-1 temperature=21.4 -> temperature).
 * - value: floats as they are, integers and unsigned integers converted to double (beyond ±2^53 ->
 *   non_finite, like JSON); strings and booleans are not numbers: quarantined as `schema`.
 *
 *  level    | condition                                                          | reason
 *  ---------+--------------------------------------------------------------------+-------------------
 *  message  | payload > maxPayloadBytes                                          | payload_too_large
 *  message  | empty, not UTF-8, or nothing but blank/comment lines               | schema
 *  line     | syntax error (missing fields, unescaped "=" in a tag value,        | schema
 *           | unterminated string, a field value of no known type, text after   |
 *           | the timestamp, …): the whole line, as InfluxDB refuses it          |
 *  line     | no sensor tag                                                      | schema
 *  line     | sensor tag value outside the id alphabet                           | invalid_id
 *  line     | scope.owns(sensor) is false                                        | identity_mismatch
 *  line     | timestamp not an integer, or out of range for a date               | bad_timestamp
 *  line     | before validation.minTimestamp                                     | bad_timestamp
 *  line     | beyond now + validation.maxFutureSkewS                             | future_timestamp
 *  line     | sensor not registered and registry policy strict                   | unknown_sensor
 *  field    | string or boolean value                                            | schema
 *  field    | metric name outside the id alphabet (e.g. measurement with spaces) | invalid_id
 *  field    | NaN / Inf, or a number beyond ±2^53 (incl. 64-bit integers)        | non_finite
 *  field    | outside the metric's min/max                                       | out_of_range
 *
 * A field-level problem quarantines that field only (the line's other fields are accepted); its
 * payload is a one-field line as sent (`measurement,tags field=value timestamp`). Details start with
 * `line N: `. Never throws.
 */
import { isValidId } from '../../core/ids.js';
import type { MetricSpec } from '../../core/registry.js';
import type { QuarantineReason } from '../../core/reasons.js';
import type { Message, Validated } from '../../core/types.js';
import {
  invalidIdDetail,
  notOwnedDetail,
  timeLimits,
  timeProblem,
  unknownSensorProblem,
  valueProblem,
  type MessageScope,
  type ValidateContext,
} from '../validate.js';
import { bytesExcerpt, capText } from './describe.js';
import { guarded, payloadBytesProblem } from './guard.js';

export {
  DEFAULT_LINE_PROTOCOL,
  PRECISIONS,
  lineTimestampToMs,
  parseLineProtocol,
  type FieldValue,
  type LineField,
  type LinePoint,
  type LineProtocolOptions,
  type ParsedLine,
  type Precision,
} from './line-protocol-parse.js';
import { DEFAULT_LINE_PROTOCOL, TIMESTAMP, lineTimestampToMs, parseLineProtocol, short, type LineProtocolOptions } from './line-protocol-parse.js';

// ------------------------------------------------------------------------------------------
// validation

export function validateLineProtocol(
  message: Message,
  scope: MessageScope,
  ctx: ValidateContext,
  opts: LineProtocolOptions = DEFAULT_LINE_PROTOCOL,
): Validated {
  return guarded(message, (out) => run(message, scope, ctx, opts, out));
}

function run(message: Message, scope: MessageScope, ctx: ValidateContext, opts: LineProtocolOptions, out: Validated): void {
  const payload = message.payload;
  const whole = (reason: QuarantineReason, detail: string): void => {
    out.quarantined.push({ reason, detail, sensorId: null, metric: null, ts: null, payload: bytesExcerpt(payload) });
  };
  const bad = payloadBytesProblem(payload, ctx.config.maxPayloadBytes, 'InfluxDB line protocol', { empty: 'schema', notUtf8: 'schema' });
  if (bad) return whole(bad.reason, bad.detail);
  const start = payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf ? 3 : 0;
  const lines = parseLineProtocol(payload.toString('utf8', start));
  if (lines.length === 0) {
    return whole('schema', 'payload has no lines, only blank lines or comments; expected e.g. weather,sensor_id=gh-1 temperature=21.4');
  }
  const lim = timeLimits(ctx);
  const passthrough = new Set(opts.passthroughMeasurements);
  const tagNames = opts.sensorTags;
  for (const pl of lines) {
    const at = `line ${pl.line}: `;
    const lineItem = (reason: QuarantineReason, detail: string, sensorId: string | null, ts: number | null): void => {
      out.quarantined.push({ reason, detail: at + detail, sensorId, metric: null, ts, payload: capText(pl.text) });
    };
    if (!pl.ok) {
      lineItem('schema', `${pl.detail} (InfluxDB line protocol: measurement,tag=value field=1.5 1700000000000000000)`, null, null);
      continue;
    }
    const p = pl.point;

    // --- which sensor ------------------------------------------------------------------------
    let tagName: string | null = null;
    let sensorId = '';
    for (const want of tagNames) {
      for (const [k, v] of p.tags) {
        if (k === want) {
          tagName = k;
          sensorId = v;
          break;
        }
      }
      if (tagName !== null) break;
    }
    if (tagName === null) {
      lineItem(
        'schema',
        `the line has no sensor tag: add ${tagNames.map((t) => `"${t}"`).join(' or ')} ` +
          `(e.g. ${p.measurement.replace(/[, ]/g, (c) => '\\' + c)},${tagNames[0] ?? 'sensor_id'}=greenhouse-1 …); ` +
          'http.lineProtocol.sensorTags lists the tags that name the sensor',
        null,
        null,
      );
      continue;
    }
    if (!isValidId(sensorId)) {
      lineItem('invalid_id', invalidIdDetail(`tag ${tagName}`, sensorId), null, null);
      continue;
    }
    if (scope.owns !== undefined && !scope.owns(sensorId)) {
      lineItem('identity_mismatch', notOwnedDetail(sensorId), sensorId, null);
      continue;
    }

    // --- time --------------------------------------------------------------------------------
    let ts: number;
    if (p.timestamp === null) {
      ts = message.receivedAt;
    } else {
      ts = lineTimestampToMs(p.timestamp, opts.precision);
      if (ts !== ts) {
        lineItem(
          'bad_timestamp',
          TIMESTAMP.test(p.timestamp)
            ? `timestamp ${short(p.timestamp)} in precision ${opts.precision} is beyond any date`
            : `timestamp ${short(p.timestamp)} is not an integer (line protocol times are integers in the request's precision, ${opts.precision})`,
          sensorId,
          null,
        );
        continue;
      }
      const tp = timeProblem(ts, `timestamp ${p.timestamp} (precision ${opts.precision})`, lim);
      if (tp !== null) {
        lineItem(tp.reason, tp.reason === 'future_timestamp' ? `${tp.detail}; check the write precision` : tp.detail, sensorId, null);
        continue;
      }
    }
    const up = unknownSensorProblem(ctx.registry, sensorId);
    if (up !== null) {
      lineItem(up.reason, up.detail, sensorId, ts);
      continue;
    }

    // --- fields ------------------------------------------------------------------------------
    const specs: Record<string, MetricSpec> | undefined = ctx.registry.get(sensorId)?.metrics;
    const prefix = passthrough.has(p.measurement) ? '' : `${p.measurement}_`;
    const tail = p.timestamp === null ? '' : ` ${p.timestamp}`;
    for (const f of p.fields) {
      const metric = prefix + f.key;
      const fieldItem = (reason: QuarantineReason, detail: string, m: string | null): void => {
        out.quarantined.push({ reason, detail: at + detail, sensorId, metric: m, ts, payload: capText(`${p.rawKey} ${f.raw}${tail}`) });
      };
      const v = f.v;
      if (v.kind === 'string' || v.kind === 'bool') {
        fieldItem(
          'schema',
          `field ${short(f.key)} is ${v.kind === 'string' ? `a string (${short(v.value)})` : `a boolean (${v.value})`}; ` +
            'Sensorpipe stores numeric readings only (send 1/0 for on/off; text belongs in a tag)',
          isValidId(metric) ? metric : null,
        );
        continue;
      }
      if (v.kind === 'nonfinite') {
        fieldItem('non_finite', `field ${short(f.key)} is ${v.value}; values must be finite numbers`, isValidId(metric) ? metric : null);
        continue;
      }
      const prob = valueProblem(metric, v.value, specs, ctx.metricDefaults, sensorId);
      if (prob !== null) {
        const detail =
          prob.reason === 'invalid_id'
            ? `${prob.detail}, made from measurement ${short(p.measurement)} and field ${short(f.key)}`
            : prob.reason === 'non_finite' && v.kind !== 'float'
              ? `${prob.detail} (field ${short(f.key)} is the ${v.kind === 'int' ? 'integer' : 'unsigned integer'} ${f.raw.slice(f.raw.lastIndexOf('=') + 1)})`
              : prob.detail;
        fieldItem(prob.reason, detail, prob.reason === 'invalid_id' ? null : metric);
        continue;
      }
      out.readings.push({ sensorId, metric, ts, value: v.value, seq: null });
    }
  }
}
