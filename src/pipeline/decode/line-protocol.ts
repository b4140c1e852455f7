/**
 * InfluxDB line protocol -> readings, so Telegraf and other InfluxDB 2 agents can write to Sensorpipe
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
import { bytesExcerpt, capText, quote } from './describe.js';
import { guarded, payloadBytesProblem } from './guard.js';

export type Precision = 'ns' | 'us' | 'ms' | 's';
export const PRECISIONS: readonly Precision[] = ['ns', 'us', 'ms', 's'];

export interface LineProtocolOptions {
  precision: Precision;
  /** Tags that name the sensor, first match wins. */
  sensorTags: readonly string[];
  /** Measurements whose fields are metrics as they are (no `<measurement>_` prefix). */
  passthroughMeasurements: readonly string[];
}

export const DEFAULT_LINE_PROTOCOL: LineProtocolOptions = {
  precision: 'ns',
  sensorTags: ['sensor_id', 'host'],
  passthroughMeasurements: [],
};

export type FieldValue =
  | { kind: 'float' | 'int' | 'uint'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nonfinite'; value: string };

export interface LineField {
  key: string;
  v: FieldValue;
  /** `key=value` as sent (escapes kept). */
  raw: string;
}

export interface LinePoint {
  measurement: string;
  tags: [string, string][];
  fields: LineField[];
  /** The timestamp text as sent, or null when the line has none. */
  timestamp: string | null;
  /** `measurement,tags` as sent (escapes kept). */
  rawKey: string;
}

export type ParsedLine =
  | { ok: true; line: number; text: string; point: LinePoint }
  | { ok: false; line: number; text: string; detail: string };

// ------------------------------------------------------------------------------------------
// syntax

const BACKSLASH = 92;
const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const EQUALS = 61;
const QUOTE = 34;

class SyntaxError_ extends Error {}

function fail(detail: string): never {
  throw new SyntaxError_(detail);
}

/**
 * Reads an identifier (measurement, tag key/value, field key) from `s` at `i` until an unescaped
 * stop character; `special` are the characters a backslash escapes in this element.
 */
function ident(s: string, i: number, stops: (c: number) => boolean, special: (c: number) => boolean): { text: string; end: number } {
  let out = '';
  let from = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d === BACKSLASH || special(d)) {
        out += s.slice(from, i) + s[i + 1];
        i += 2;
        from = i;
        continue;
      }
      i++; // a literal backslash; the next character is read normally
      continue;
    }
    if (stops(c)) break;
    i++;
  }
  return { text: out + s.slice(from, i), end: i };
}

const isMeasurementSpecial = (c: number) => c === COMMA || c === SPACE;
const isKeySpecial = (c: number) => c === COMMA || c === EQUALS || c === SPACE;
const measurementStop = (c: number) => c === COMMA || c === SPACE || c === TAB;
const tagKeyStop = (c: number) => c === EQUALS || c === COMMA || c === SPACE || c === TAB;
const tagValueStop = (c: number) => c === COMMA || c === SPACE || c === TAB || c === EQUALS;
const fieldKeyStop = (c: number) => c === EQUALS || c === COMMA || c === SPACE || c === TAB;

const INT = /^[-+]?\d+i$/;
const UINT = /^\d+u$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const NONFINITE = /^[-+]?(nan|inf|infinity)$/i;
const TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);
const TIMESTAMP = /^-?\d+$/;

function short(s: string): string {
  return quote(s, 60);
}

function fieldValue(key: string, token: string): FieldValue {
  if (INT.test(token)) return { kind: 'int', value: Number(token.slice(0, -1)) };
  if (UINT.test(token)) return { kind: 'uint', value: Number(token.slice(0, -1)) };
  if (FLOAT.test(token)) return { kind: 'float', value: Number(token) };
  if (TRUE.has(token)) return { kind: 'bool', value: true };
  if (FALSE.has(token)) return { kind: 'bool', value: false };
  if (NONFINITE.test(token)) return { kind: 'nonfinite', value: token };
  if (token === '') fail(`field ${short(key)} has no value after "="`);
  return fail(
    `field ${short(key)} has the value ${short(token)}, which is not a line protocol value ` +
      '(a number like 1.5, an integer 2i, an unsigned 2u, a "quoted string" or a boolean t/f)',
  );
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** One line (without its newline) -> a point; throws SyntaxError_ with the reason. */
function parsePoint(s: string, start: number): LinePoint {
  let i = start;
  const m = ident(s, i, measurementStop, isMeasurementSpecial);
  if (m.text === '') fail('the line has no measurement name before its tags or fields');
  i = m.end;
  const tags: [string, string][] = [];
  while (i < s.length && s.charCodeAt(i) === COMMA) {
    const k = ident(s, i + 1, tagKeyStop, isKeySpecial);
    if (k.text === '') fail(`tag #${tags.length + 1} has an empty key (an unescaped "," or a trailing comma?)`);
    if (k.end >= s.length || s.charCodeAt(k.end) !== EQUALS) fail(`tag ${short(k.text)} has no "=" and value`);
    const v = ident(s, k.end + 1, tagValueStop, isKeySpecial);
    if (v.text === '') fail(`tag ${short(k.text)} has an empty value`);
    if (v.end < s.length && s.charCodeAt(v.end) === EQUALS) {
      fail(`tag ${short(k.text)}: an "=" in a tag value must be escaped as "\\="`);
    }
    tags.push([k.text, v.text]);
    i = v.end;
  }
  const rawKey = s.slice(start, i);
  if (i >= s.length) fail('the line has no fields: after the measurement and tags comes a space and field=value');
  if (!isBlank(s.charCodeAt(i))) fail(`unexpected ${short(s[i])} after the measurement and tags`);
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  if (i >= s.length) fail('the line has no fields: after the measurement and tags comes a space and field=value');

  const fields: LineField[] = [];
  for (;;) {
    const fieldStart = i;
    const k = ident(s, i, fieldKeyStop, isKeySpecial);
    if (k.text === '') fail(`field #${fields.length + 1} has an empty key`);
    if (k.end >= s.length || s.charCodeAt(k.end) !== EQUALS) fail(`field ${short(k.text)} has no "=" and value`);
    i = k.end + 1;
    let v: FieldValue;
    if (i < s.length && s.charCodeAt(i) === QUOTE) {
      let out = '';
      let from = ++i;
      let closed = false;
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c === BACKSLASH && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d === QUOTE || d === BACKSLASH) {
            out += s.slice(from, i) + s[i + 1];
            i += 2;
            from = i;
            continue;
          }
          i++;
          continue;
        }
        if (c === QUOTE) {
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) fail(`field ${short(k.text)}: the string value has no closing quote`);
      v = { kind: 'string', value: out + s.slice(from, i) };
      i++; // closing quote
    } else {
      const from = i;
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c === COMMA || isBlank(c)) break;
        i++;
      }
      v = fieldValue(k.text, s.slice(from, i));
    }
    fields.push({ key: k.text, v, raw: s.slice(fieldStart, i) });
    if (i >= s.length) break;
    const c = s.charCodeAt(i);
    if (c === COMMA) {
      i++;
      continue;
    }
    if (!isBlank(c)) fail(`unexpected ${short(s[i])} after the value of field ${short(k.text)}`);
    break;
  }
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  let timestamp: string | null = null;
  if (i < s.length) {
    const from = i;
    while (i < s.length && !isBlank(s.charCodeAt(i))) i++;
    timestamp = s.slice(from, i);
    while (i < s.length && isBlank(s.charCodeAt(i))) i++;
    if (i < s.length) fail(`unexpected text ${short(s.slice(i, i + 40))} after the timestamp ${short(timestamp)}`);
  }
  return { measurement: m.text, tags, fields, timestamp, rawKey };
}

/** Splits a line protocol text into parsed lines (blank and comment lines are left out). Never throws. */
export function parseLineProtocol(text: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    lineNo++;
    let line = text.slice(pos, nl);
    pos = nl + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let i = 0;
    while (i < line.length && isBlank(line.charCodeAt(i))) i++;
    if (i >= line.length || line.charCodeAt(i) === 35 /* # */) continue;
    try {
      out.push({ ok: true, line: lineNo, text: line, point: parsePoint(line, i) });
    } catch (err) {
      if (!(err instanceof SyntaxError_)) throw err;
      out.push({ ok: false, line: lineNo, text: line, detail: err.message });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// timestamps

const NS_PER_MS = 1_000_000n;
const MAX_DATE_MS = 8_640_000_000_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** A line protocol timestamp in `precision` -> epoch ms (rounded down), NaN when it is not an integer or not a date. */
export function lineTimestampToMs(raw: string, precision: Precision): number {
  if (!TIMESTAMP.test(raw) || raw.length > 40) return NaN;
  const b = BigInt(raw);
  const ms =
    precision === 'ns' ? floorDiv(b, NS_PER_MS) : precision === 'us' ? floorDiv(b, 1000n) : precision === 'ms' ? b : b * 1000n;
  if (ms > MAX_DATE_MS || ms < -MAX_DATE_MS) return NaN;
  return Number(ms);
}

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
