/**
 * InfluxDB line protocol, the syntax: lines -> points (measurement, tags, typed fields, raw
 * timestamp) or a syntax error naming the line, and timestamps in a precision -> epoch ms. What
 * the points become (readings, quarantine) is line-protocol.ts.
 */
import { quote } from './describe.js';

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
export const TIMESTAMP = /^-?\d+$/;

/** A token cut to a readable length for an error detail. */
export function short(s: string): string {
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
