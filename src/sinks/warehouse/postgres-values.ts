/**
 * Conversions between pipeline values and PostgreSQL text, so that both warehouses answer with
 * the same JSON-friendly values (see duckdb-values.ts): BIGINTs as numbers when they are safe
 * integers and decimal strings otherwise, NUMERIC as a number (PostgreSQL's sum(bigint),
 * avg() and EXTRACT return NUMERIC where DuckDB returns a number), timestamps as ISO-8601 UTC
 * strings (`2024-05-01T12:00:00.000Z`, microseconds kept when present), DATE as 'YYYY-MM-DD',
 * non-finite doubles as strings ('NaN', 'Infinity'), arrays as arrays.
 *
 * Sessions run with `timezone=UTC` (set at connect), so `timestamptz` text always ends in +00.
 */
import pg from 'pg';
import type { EpochMs } from '../../core/types.js';

/** EpochMs -> 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, no zone): a TIMESTAMP literal, microseconds kept. */
export function pgTs(ms: EpochMs): string {
  const micros = Math.round(ms * 1000);
  const whole = Math.floor(micros / 1000);
  const rest = micros - whole * 1000;
  return `${new Date(whole).toISOString().replace('T', ' ').slice(0, 23)}${String(rest).padStart(3, '0')}`;
}

const TS = /^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?)?$/;

/** PostgreSQL timestamp / timestamptz text -> ISO-8601 UTC ('…T12:00:00.000Z' or '…T12:00:00.123456Z'). */
export function isoFromPgTimestamp(text: string): string {
  const m = TS.exec(text);
  if (!m) return text; // infinity, BC dates: shown as PostgreSQL prints them
  const [, y, mo, d, hms, frac = '', sign, oh, om] = m;
  const digits = frac.length <= 3 ? frac.padEnd(3, '0') : frac.padEnd(6, '0');
  const local = `${y}-${mo}-${d}T${hms}.${digits}`;
  if (!sign || (Number(oh) === 0 && Number(om ?? 0) === 0)) return `${local}Z`;
  // Only when a session changed its time zone: convert (to millisecond precision).
  return new Date(`${local.slice(0, 23)}${sign}${oh}:${om ?? '00'}`).toISOString();
}

/** Timestamp as returned by this warehouse (ISO text) -> EpochMs; null stays null. */
export function msFromPg(v: unknown): EpochMs | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  const s = String(v);
  const m = /\.(\d{4,6})Z$/.exec(s);
  const base = Date.parse(m ? s.replace(/\.\d+Z$/, `.${m[1].slice(0, 3)}Z`) : s);
  if (Number.isNaN(base)) throw new TypeError(`expected a timestamp, got ${s}`);
  return m ? base + Number(`0.${m[1].slice(3)}`) : base;
}

function int8(text: string): number | string {
  const b = BigInt(text);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : text;
}

function float(text: string): number | string {
  const x = Number(text);
  return Number.isFinite(x) ? x : text === 'NaN' ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

const { builtins } = pg.types;
const text = (s: string) => s;
/** text[] parser of the driver: splits an array literal into its elements' text. */
const textArray = (pg.types.getTypeParser as (oid: number) => (s: string) => (string | null)[])(1009);
const arrayOf = (parse: (s: string) => unknown) => (s: string) => textArray(s).map((x) => (x === null ? null : parse(x)));

const PARSERS: Record<number, (s: string) => unknown> = {
  [builtins.INT8]: int8,
  [builtins.NUMERIC]: float,
  [builtins.FLOAT4]: float,
  [builtins.FLOAT8]: float,
  [builtins.TIMESTAMP]: isoFromPgTimestamp,
  [builtins.TIMESTAMPTZ]: isoFromPgTimestamp,
  [builtins.DATE]: text,
  [builtins.BYTEA]: text,
  1016: arrayOf(int8), // int8[]
  1115: arrayOf(isoFromPgTimestamp), // timestamp[]
  1185: arrayOf(isoFromPgTimestamp), // timestamptz[]
  1182: arrayOf(text), // date[]
  1022: arrayOf(float), // float8[]
  1231: arrayOf(float), // numeric[]
};

/** The `types` option for pg clients and pools of this warehouse. */
export const jsonFriendlyTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    const p = PARSERS[oid];
    if (p && (format ?? 'text') === 'text') return p;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** One CSV field for `COPY … FROM STDIN (FORMAT csv)`: NULL is an unquoted empty field, everything else is quoted. */
export function csvField(v: string | number | bigint | boolean | null): string {
  if (v === null) return '';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return `"${v.replace(/"/g, '""')}"`;
}

export function csvLine(fields: (string | number | bigint | boolean | null)[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}
