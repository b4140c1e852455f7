/**
 * Turning offending payload parts into text for quarantine items and operator details.
 * Error path only; none of these functions throws, whatever the value (deep nesting, huge strings).
 */

/** Cap on the `payload` text of one quarantine item (UTF-16 code units, about 64 KiB for ASCII). */
export const PAYLOAD_EXCERPT_MAX = 64 * 1024;

/** Nesting depth beyond which `boundedJson` writes `[…]` / `{…}` instead of recursing. */
const MAX_DEPTH = 32;

/** `s`, cut to `max` characters with a marker saying how long it was. */
export function capText(s: string, max: number = PAYLOAD_EXCERPT_MAX): string {
  if (s.length <= max) return s;
  let cut = max;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
  return `${s.slice(0, cut)}…[truncated: ${s.length} characters in total]`;
}

/** Bytes as UTF-8 text (invalid sequences become U+FFFD), capped. */
export function bytesExcerpt(bytes: Uint8Array, max: number = PAYLOAD_EXCERPT_MAX): string {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length <= max) return b.toString('utf8');
  // Decode a little more than needed, then cap by characters; report the size in bytes.
  const head = b.subarray(0, max).toString('utf8');
  return `${head.slice(0, max)}…[truncated: ${b.length} bytes in total]`;
}

interface Budget {
  out: string;
  max: number;
}

function write(v: unknown, b: Budget, depth: number): void {
  if (b.out.length > b.max) return;
  switch (typeof v) {
    case 'number':
      // Infinity only arises from overflowing literals like 1e400; 1e999 reads back as the same value.
      b.out += v - v === 0 ? String(v) : v !== v ? 'null' : v > 0 ? '1e999' : '-1e999';
      return;
    case 'string':
      b.out += JSON.stringify(v.length > b.max ? v.slice(0, b.max) : v);
      return;
    case 'boolean':
      b.out += v ? 'true' : 'false';
      return;
    case 'object':
      break;
    default:
      b.out += 'null';
      return;
  }
  if (v === null) {
    b.out += 'null';
    return;
  }
  if (Array.isArray(v)) {
    if (depth >= MAX_DEPTH) {
      b.out += '[…]';
      return;
    }
    b.out += '[';
    for (let i = 0; i < v.length && b.out.length <= b.max; i++) {
      if (i > 0) b.out += ',';
      write(v[i], b, depth + 1);
    }
    b.out += ']';
    return;
  }
  if (depth >= MAX_DEPTH) {
    b.out += '{…}';
    return;
  }
  b.out += '{';
  let first = true;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (b.out.length > b.max) break;
    if (!first) b.out += ',';
    first = false;
    b.out += JSON.stringify(k.length > b.max ? k.slice(0, b.max) : k) + ':';
    write(o[k], b, depth + 1);
  }
  b.out += '}';
}

/** JSON text of a parsed value, depth-limited and capped (with a marker) at `max` characters. */
export function boundedJson(v: unknown, max: number = PAYLOAD_EXCERPT_MAX): string {
  const b: Budget = { out: '', max };
  write(v, b, 0);
  return capText(b.out, max);
}

/** A string quoted as JSON for a detail text, shortened to `max` characters. */
export function quote(s: string, max = 100): string {
  return s.length > max ? `${JSON.stringify(s.slice(0, max))}… (${s.length} characters)` : JSON.stringify(s);
}

/** "the string \"x\"", "the number 5", "null", "an array", … for detail texts. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `the string ${quote(v, 60)}`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `the boolean ${v}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

const ID_START = /^[A-Za-z0-9]/;
const ID_BAD_CHAR = /[^A-Za-z0-9._:-]/;

/** Why a string is not a valid id (src/core/ids.ts), e.g. `character " " at position 4 is not allowed`. */
export function explainBadId(s: string): string {
  if (s.length === 0) return 'it is empty';
  if (s.length > 128) return `it is ${s.length} characters long (at most 128)`;
  if (!ID_START.test(s)) return `it must start with a letter or digit, not ${JSON.stringify(s[0])}`;
  const m = ID_BAD_CHAR.exec(s);
  if (m) return `character ${JSON.stringify(m[0])} at position ${m.index} is not allowed`;
  return 'it does not match the id pattern';
}
