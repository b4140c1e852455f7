/**
 * Sensorpipe JSON, first stage: payload bytes -> list of records (still unchecked JSON values).
 * Checks size, UTF-8, JSON syntax and the top-level shape (one object, or a non-empty array of at
 * most MAX_RECORDS elements). What a record must contain is checked in ../validate.ts.
 * Never throws.
 */
import { isUtf8 } from 'node:buffer';

/** Most records one message may carry. */
export const MAX_RECORDS = 10_000;

export type DecodeResult =
  | {
      ok: true;
      /** The records: the object itself, or the array's elements (any JSON value; validate checks each). */
      records: unknown[];
      /** Whether the payload was an array (details then name the record index). */
      isArray: boolean;
    }
  | {
      ok: false;
      reason: 'payload_too_large' | 'invalid_json' | 'schema';
      detail: string;
    };

function asBuffer(p: Uint8Array): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/** Offset and value of the first byte that breaks UTF-8 (error path only). */
export function firstInvalidUtf8(b: Uint8Array): { offset: number; byte: number } | null {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return { offset: i, byte: c };
    for (let k = 1; k <= need; k++) {
      const cc = i + k < n ? b[i + k] : -1;
      const l = k === 1 ? lo : 0x80;
      const h = k === 1 ? hi : 0xbf;
      if (cc < l || cc > h) return { offset: i + k < n ? i + k : i, byte: i + k < n ? cc : c };
    }
    i += need + 1;
  }
  return null;
}

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Decode a Sensorpipe JSON payload. `maxBytes` is validation.maxPayloadBytes. */
export function decodeSensorpipeJson(payload: Uint8Array, maxBytes: number): DecodeResult {
  const buf = asBuffer(payload);
  if (buf.length > maxBytes) {
    return {
      ok: false,
      reason: 'payload_too_large',
      detail:
        `payload is ${buf.length} bytes; validation.maxPayloadBytes allows at most ${maxBytes} bytes ` +
        'per message (send fewer records per message)',
    };
  }
  if (buf.length === 0) {
    return { ok: false, reason: 'invalid_json', detail: 'payload is empty; expected a JSON object or array' };
  }
  if (!isUtf8(buf)) {
    const bad = firstInvalidUtf8(buf);
    return {
      ok: false,
      reason: 'invalid_json',
      detail:
        'payload is not valid UTF-8' +
        (bad ? `: byte ${hex(bad.byte)} at offset ${bad.offset} breaks the encoding` : '') +
        ' (JSON must be UTF-8 text)',
    };
  }
  // A leading UTF-8 byte order mark is tolerated (some HTTP clients add one).
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const text = buf.toString('utf8', start);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      reason: 'invalid_json',
      detail:
        `payload is not valid JSON: ${msg.length > 200 ? msg.slice(0, 200) + '…' : msg}` +
        ' (note: NaN, Infinity, comments, single quotes and trailing commas are not JSON)',
    };
  }
  if (typeof v !== 'object' || v === null) {
    return {
      ok: false,
      reason: 'schema',
      detail: `payload is ${jsonKind(v)}; Sensorpipe JSON is one object or an array of objects like {"ts": "2024-05-01T12:00:00Z", "temperature": 21.4}`,
    };
  }
  if (!Array.isArray(v)) return { ok: true, records: [v], isArray: false };
  if (v.length === 0) {
    return { ok: false, reason: 'schema', detail: 'payload is an empty array; it must contain at least one record' };
  }
  if (v.length > MAX_RECORDS) {
    return {
      ok: false,
      reason: 'schema',
      detail: `payload is an array of ${v.length} records; at most ${MAX_RECORDS} records are allowed per message`,
    };
  }
  return { ok: true, records: v, isArray: true };
}
