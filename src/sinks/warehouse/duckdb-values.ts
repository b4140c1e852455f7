/**
 * Conversions between pipeline values and DuckDB values.
 *
 * Results for analysts are JSON-friendly: BIGINT/HUGEINT become numbers when they are safe
 * integers and decimal strings otherwise; timestamps become ISO-8601 UTC strings
 * (`2024-05-01T12:00:00.000Z`, microseconds kept when present); DECIMAL becomes a number;
 * non-finite doubles become strings ('NaN', 'Infinity'); lists, structs and maps recurse.
 */
import {
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  arrayFromArrayValue,
  arrayFromListValue,
  booleanFromValue,
  createDuckDBValueConverter,
  doubleFromDecimalValue,
  fromVariantValue,
  jsonNumberFromValue,
  jsonObjectFromIntervalValue,
  nullConverter,
  numberFromValue,
  objectArrayFromMapValue,
  objectFromStructValue,
  objectFromUnionValue,
  stringFromValue,
  unsupportedConverter,
} from '@duckdb/node-api';
import type { DuckDBValue, DuckDBValueConverter } from '@duckdb/node-api';
import type { EpochMs } from '../../core/types.js';

/** EpochMs (UTC) -> TIMESTAMP value. */
export function tsValue(ms: EpochMs): DuckDBTimestampValue {
  return new DuckDBTimestampValue(BigInt(Math.round(ms * 1000)));
}

/** TIMESTAMP value (UTC) -> EpochMs; null stays null. */
export function msFromTs(v: DuckDBValue): EpochMs | null {
  if (v === null) return null;
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) return Number(v.micros) / 1000;
  throw new TypeError(`expected a TIMESTAMP, got ${String(v)}`);
}

/** BIGINT/INTEGER/DOUBLE value -> number (BIGINT beyond 2^53 loses precision; only used for counts and offsets). */
export function num(v: DuckDBValue): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`expected a number, got ${String(v)}`);
}

export function str(v: DuckDBValue): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  return String(v);
}

function safeInteger(b: bigint): number | string {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

function integerFromValue(v: DuckDBValue): number | string {
  if (typeof v === 'bigint') return safeInteger(v);
  if (typeof v === 'number') return v;
  return String(v);
}

const MAX_DATE_MS = 8.64e15;

function isoFromMicros(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = Number(((micros % 1000n) + 1000n) % 1000n);
  const msNum = Number(micros < 0n && rest !== 0 ? ms - 1n : ms);
  if (Math.abs(msNum) > MAX_DATE_MS) return micros.toString();
  const iso = new Date(msNum).toISOString();
  return rest === 0 ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

function isoFromTimestamp(v: DuckDBValue): string {
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) {
    return v.isFinite ? isoFromMicros(v.micros) : v.toString();
  }
  if (v instanceof DuckDBTimestampSecondsValue) return v.isFinite ? isoFromMicros(v.seconds * 1_000_000n) : v.toString();
  if (v instanceof DuckDBTimestampMillisecondsValue) return v.isFinite ? isoFromMicros(v.millis * 1000n) : v.toString();
  if (v instanceof DuckDBTimestampNanosecondsValue) return v.isFinite ? isoFromMicros(v.nanos / 1000n) : v.toString();
  return String(v);
}

/** The converter used for every analyst query result. */
export const jsonFriendlyConverter: DuckDBValueConverter<unknown> = createDuckDBValueConverter<unknown>({
  [DuckDBTypeId.INVALID]: unsupportedConverter,
  [DuckDBTypeId.BOOLEAN]: booleanFromValue,
  [DuckDBTypeId.TINYINT]: numberFromValue,
  [DuckDBTypeId.SMALLINT]: numberFromValue,
  [DuckDBTypeId.INTEGER]: numberFromValue,
  [DuckDBTypeId.BIGINT]: integerFromValue,
  [DuckDBTypeId.UTINYINT]: numberFromValue,
  [DuckDBTypeId.USMALLINT]: numberFromValue,
  [DuckDBTypeId.UINTEGER]: numberFromValue,
  [DuckDBTypeId.UBIGINT]: integerFromValue,
  [DuckDBTypeId.FLOAT]: jsonNumberFromValue,
  [DuckDBTypeId.DOUBLE]: jsonNumberFromValue,
  [DuckDBTypeId.TIMESTAMP]: isoFromTimestamp,
  [DuckDBTypeId.DATE]: stringFromValue,
  [DuckDBTypeId.TIME]: stringFromValue,
  [DuckDBTypeId.INTERVAL]: jsonObjectFromIntervalValue,
  [DuckDBTypeId.HUGEINT]: integerFromValue,
  [DuckDBTypeId.UHUGEINT]: integerFromValue,
  [DuckDBTypeId.VARCHAR]: stringFromValue,
  [DuckDBTypeId.BLOB]: stringFromValue,
  [DuckDBTypeId.DECIMAL]: doubleFromDecimalValue,
  [DuckDBTypeId.TIMESTAMP_S]: isoFromTimestamp,
  [DuckDBTypeId.TIMESTAMP_MS]: isoFromTimestamp,
  [DuckDBTypeId.TIMESTAMP_NS]: isoFromTimestamp,
  [DuckDBTypeId.ENUM]: stringFromValue,
  [DuckDBTypeId.LIST]: arrayFromListValue,
  [DuckDBTypeId.STRUCT]: objectFromStructValue,
  [DuckDBTypeId.MAP]: objectArrayFromMapValue,
  [DuckDBTypeId.ARRAY]: arrayFromArrayValue,
  [DuckDBTypeId.UUID]: stringFromValue,
  [DuckDBTypeId.UNION]: objectFromUnionValue,
  [DuckDBTypeId.BIT]: stringFromValue,
  [DuckDBTypeId.TIME_TZ]: stringFromValue,
  [DuckDBTypeId.TIMESTAMP_TZ]: isoFromTimestamp,
  [DuckDBTypeId.ANY]: unsupportedConverter,
  [DuckDBTypeId.BIGNUM]: stringFromValue,
  [DuckDBTypeId.SQLNULL]: nullConverter,
  [DuckDBTypeId.STRING_LITERAL]: unsupportedConverter,
  [DuckDBTypeId.INTEGER_LITERAL]: unsupportedConverter,
  [DuckDBTypeId.TIME_NS]: stringFromValue,
  [DuckDBTypeId.GEOMETRY]: stringFromValue,
  [DuckDBTypeId.VARIANT]: fromVariantValue,
});
