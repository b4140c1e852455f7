/**
 * Device timestamps -> epoch milliseconds (UTC). DESIGN §3 "Time".
 *
 * Accepted forms:
 * - ISO-8601 / RFC 3339 extended format WITH an explicit zone:
 *   `2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.123456+02:00`, `2024-05-01 12:00Z`,
 *   `…+0200`, `…+02`. Seconds are optional, the fraction (`.` or `,`) may have any number
 *   of digits and is truncated (rounded down) to milliseconds. A string without a zone is
 *   refused: local time on a device is ambiguous.
 * - Epoch numbers in a configured unit (`s`, `ms`, also `us`, `ns`) or `auto`, which picks
 *   the unit from the magnitude where it is unambiguous (see AUTO_EPOCH_RANGES). Sub-ms
 *   precision is rounded down to the millisecond (resolution of the conversion: 1 µs).
 *
 * Hot path functions return NaN on failure and allocate nothing; `explainTimestamp` reruns
 * the same logic to say why, for the operator (error path only).
 */

export type EpochUnit = 'auto' | 's' | 'ms' | 'us' | 'ns';

/**
 * `auto` epoch detection: [from, to) per unit, compared against the absolute value.
 * Each range starts at 2001-09-09 in its unit, so values in the gaps (and anything below
 * 1e9) are ambiguous or not a wall-clock time (an uptime counter) and are refused.
 */
export const AUTO_EPOCH_RANGES: readonly { unit: 's' | 'ms' | 'us' | 'ns'; from: number; to: number }[] = [
  { unit: 's', from: 1e9, to: 1e11 },
  { unit: 'ms', from: 1e12, to: 1e14 },
  { unit: 'us', from: 1e15, to: 1e17 },
  { unit: 'ns', from: 1e18, to: Infinity },
];

/** The unit `auto` picks for an epoch number, or null when the magnitude is ambiguous, negative or not finite. */
export function detectEpochUnit(v: number): 's' | 'ms' | 'us' | 'ns' | null {
  if (!(v >= 1e9) || v === Infinity) return null; // also NaN and negatives
  if (v < 1e11) return 's';
  if (v < 1e12) return null;
  if (v < 1e14) return 'ms';
  if (v < 1e15) return null;
  if (v < 1e17) return 'us';
  if (v < 1e18) return null;
  return 'ns';
}

/** Epoch number in `unit` -> epoch ms, rounded down; NaN when not finite or (auto) ambiguous. */
export function epochToMs(v: number, unit: EpochUnit): number {
  if (v - v !== 0) return NaN; // NaN, ±Infinity
  const u = unit === 'auto' ? detectEpochUnit(v) : unit;
  switch (u) {
    // Go through integer microseconds (rounded: absorbs binary float noise such as
    // 1700000000.123 * 1e6), then floor to milliseconds.
    case 's':
      return Math.floor(Math.round(v * 1e6) / 1000);
    case 'ms':
      return Math.floor(Math.round(v * 1e3) / 1000);
    case 'us':
      return Math.floor(Math.round(v) / 1000);
    case 'ns':
      return Math.floor(Math.round(v / 1000) / 1000);
    default:
      return NaN;
  }
}

/** Sink for the reason an ISO string was refused (error path only). */
interface Why {
  why: string;
}

const C0 = 48; // '0'

/** n decimal digits at s[i..i+n) as a number, or -1. */
function digits(s: string, i: number, n: number): number {
  if (i + n > s.length) return -1;
  let r = 0;
  for (let k = i; k < i + n; k++) {
    const d = s.charCodeAt(k) - C0;
    if (d < 0 || d > 9) return -1;
    r = r * 10 + d;
  }
  return r;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function fail(why: Why | undefined, text: string): number {
  if (why !== undefined) why.why = text;
  return NaN;
}

/**
 * ISO-8601 extended format with a zone -> epoch ms, NaN when refused. Pass `why` to learn the reason.
 * Grammar: YYYY-MM-DD(T|t| )hh:mm[:ss[(.|,)f+]](Z|z|±hh[[:]mm])
 */
export function parseIsoTimestamp(s: string, why?: Why): number {
  const n = s.length;
  const y = digits(s, 0, 4);
  const mo = n > 4 && s.charCodeAt(4) === 45 ? digits(s, 5, 2) : -1;
  const d = n > 7 && s.charCodeAt(7) === 45 ? digits(s, 8, 2) : -1;
  if (y < 0 || mo < 0 || d < 0) return fail(why, 'it does not start with a date YYYY-MM-DD');
  if (mo < 1 || mo > 12) return fail(why, `month ${mo} does not exist`);
  const dim = mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1];
  if (d < 1 || d > dim) return fail(why, `day ${d} does not exist in ${s.slice(0, 7)}`);
  if (n === 10) return fail(why, 'it has a date but no time and no zone');
  const sep = s.charCodeAt(10);
  if (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== 32 /* space */) {
    return fail(why, 'the date must be followed by "T" and a time hh:mm:ss');
  }
  const h = digits(s, 11, 2);
  const mi = n > 13 && s.charCodeAt(13) === 58 ? digits(s, 14, 2) : -1;
  if (h < 0 || mi < 0) return fail(why, 'the time is not hh:mm[:ss]');
  if (h > 23) return fail(why, `hour ${h} does not exist`);
  if (mi > 59) return fail(why, `minute ${mi} does not exist`);
  let i = 16;
  let sec = 0;
  let ms = 0;
  if (i < n && s.charCodeAt(i) === 58) {
    sec = digits(s, i + 1, 2);
    if (sec < 0) return fail(why, 'the seconds are not two digits');
    if (sec > 59) return fail(why, sec === 60 ? 'leap second :60 is not supported' : `second ${sec} does not exist`);
    i += 3;
    const c = i < n ? s.charCodeAt(i) : 0;
    if (c === 46 /* . */ || c === 44 /* , */) {
      i++;
      const start = i;
      let scale = 100;
      while (i < n) {
        const dd = s.charCodeAt(i) - C0;
        if (dd < 0 || dd > 9) break;
        if (scale >= 1) {
          ms += dd * scale;
          scale /= 10;
        }
        i++;
      }
      if (i === start) return fail(why, 'the decimal point is not followed by digits');
    }
  }
  if (i >= n) return fail(why, 'it has no time zone: add "Z" for UTC or an offset like "+02:00"');
  const z = s.charCodeAt(i);
  let offsetMin = 0;
  if (z === 90 /* Z */ || z === 122 /* z */) {
    i++;
  } else if (z === 43 /* + */ || z === 45 /* - */) {
    const oh = digits(s, i + 1, 2);
    if (oh < 0) return fail(why, 'the zone offset is not ±hh:mm');
    i += 3;
    let om = 0;
    if (i < n) {
      if (s.charCodeAt(i) === 58) i++;
      om = digits(s, i, 2);
      if (om < 0) return fail(why, 'the zone offset is not ±hh:mm');
      i += 2;
    }
    if (oh > 23 || om > 59) return fail(why, `zone offset ${String.fromCharCode(z)}${oh}:${om} does not exist`);
    offsetMin = (oh * 60 + om) * (z === 45 ? -1 : 1);
  } else {
    return fail(why, 'it has no time zone: add "Z" for UTC or an offset like "+02:00"');
  }
  if (i !== n) return fail(why, `unexpected text ${JSON.stringify(s.slice(i, i + 20))} after the zone`);
  return (
    daysFromCivil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms - offsetMin * 60_000
  );
}

/** A `ts` value from a payload (ISO string or epoch number) -> epoch ms, NaN when it cannot be used. */
export function parseTimestamp(v: unknown, unit: EpochUnit): number {
  if (typeof v === 'string') return parseIsoTimestamp(v);
  if (typeof v === 'number') return epochToMs(v, unit);
  return NaN;
}

/** ms -> ISO text for operator messages; never throws (out-of-range values are shown as numbers). */
export function formatMs(ms: number): string {
  if (!(Math.abs(ms) <= 8.64e15)) return `${ms} ms`;
  return new Date(ms).toISOString();
}

const NUMERIC_TEXT = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

function short(s: string): string {
  return JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s);
}

/** Why `parseTimestamp(v, unit)` returned NaN, as an operator-readable sentence about `ts`. */
export function explainTimestamp(v: unknown, unit: EpochUnit): string {
  if (v === undefined) return 'the record has no "ts"';
  if (typeof v === 'string') {
    const why: Why = { why: '' };
    const ms = parseIsoTimestamp(v, why);
    if (ms === ms) return `ts ${short(v)} is valid`;
    if (NUMERIC_TEXT.test(v)) {
      return `ts ${short(v)} is a string of digits: send epoch times as JSON numbers, or use ISO-8601 with a zone`;
    }
    return `ts ${short(v)} is not an ISO-8601 time with a zone: ${why.why}`;
  }
  if (typeof v === 'number') {
    if (v - v !== 0) return `ts ${v} is not a finite number`;
    if (unit !== 'auto') return `ts ${v} cannot be read as epoch ${unit}`;
    if (v < 0) return `ts ${v} is a negative epoch number`;
    if (v < 1e9) {
      return (
        `ts ${v} is too small to be an epoch time in any unit (seconds start at 1e9, ms at 1e12); ` +
        'it looks like a device uptime counter: the device clock is probably not set'
      );
    }
    return (
      `ts ${v} has an ambiguous magnitude: validation.epochUnit is auto, which accepts seconds in ` +
      '[1e9, 1e11), milliseconds in [1e12, 1e14), microseconds in [1e15, 1e17), nanoseconds from 1e18; ' +
      'set validation.epochUnit explicitly or send ISO-8601'
    );
  }
  const kind = v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
  return `ts is ${kind}; it must be an ISO-8601 string with a zone or an epoch number`;
}
