/**
 * The lake's path layout (DESIGN §4), shared by every storage (file system, Azure Blob). Paths are
 * relative to the lake root and always use `/`.
 *
 *   raw/date=YYYY-MM-DD/part-<from offset, 16 digits>.parquet                      partitioning 'date'
 *   raw/date=YYYY-MM-DD/sensor_id=<id>/part-<from offset, 16 digits>.parquet        partitioning 'date_sensor'
 *   quarantine/date=YYYY-MM-DD/reason=<code>/part-<from offset, 16 digits>.parquet
 *   _state/committed-offset                                                         lake high-water mark
 *
 * raw dates come from the reading's `ts`, quarantine dates from the message's `received_at` (a
 * quarantined item may have no usable timestamp), both in UTC. Names depend only on the batch's first
 * spool offset, so writing the same range again replaces the same files.
 */
import type { EpochMs } from '../../core/types.js';

export type LakePartitioning = 'date' | 'date_sensor';

export const RAW_PREFIX = 'raw';
export const QUARANTINE_PREFIX = 'quarantine';
export const STATE_PREFIX = '_state';
export const COMMITTED_OFFSET_PATH = `${STATE_PREFIX}/committed-offset`;

const OFFSET_DIGITS = 16;

const DAY_MS = 86_400_000;
// The lake asks for the date of every reading; nearly all fall on the day asked last.
let lastDay = { start: NaN, date: '' };

/** `YYYY-MM-DD` of an instant, UTC. */
export function utcDate(ms: EpochMs): string {
  if (ms >= lastDay.start && ms < lastDay.start + DAY_MS) return lastDay.date;
  const date = formatUtcDate(ms);
  lastDay = { start: Math.floor(ms / DAY_MS) * DAY_MS, date };
  return date;
}

function formatUtcDate(ms: EpochMs): string {
  const d = new Date(ms);
  const iso = d.toISOString(); // throws RangeError on an invalid instant: an infrastructure bug, not data
  if (iso.length !== 24) throw new RangeError(`timestamp ${ms} is outside years 0000-9999 and has no date partition`);
  return iso.slice(0, 10);
}

/** `part-<offset zero-padded to 16 digits>.parquet`: names sort in spool order. */
export function partFileName(fromOffset: number): string {
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw new RangeError(`spool offset must be a non-negative integer, got ${fromOffset}`);
  return `part-${String(fromOffset).padStart(OFFSET_DIGITS, '0')}.parquet`;
}

/**
 * A Hive partition value as a path segment: characters outside `[A-Za-z0-9._-]` are percent-encoded
 * the way Hive and Spark escape them (ids may contain `:`, which Windows and some tools refuse in
 * paths). DuckDB, Spark and pyarrow decode `%3A` back to `:` when they read the partition column.
 */
export function hiveValue(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, (c) => {
    const bytes = Buffer.from(c, 'utf8');
    return [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  });
}

export function rawFilePath(partitioning: LakePartitioning, ts: EpochMs, sensorId: string, fromOffset: number): string {
  const date = `date=${utcDate(ts)}`;
  const dir = partitioning === 'date_sensor' ? `${RAW_PREFIX}/${date}/sensor_id=${hiveValue(sensorId)}` : `${RAW_PREFIX}/${date}`;
  return `${dir}/${partFileName(fromOffset)}`;
}

export function quarantineFilePath(receivedAt: EpochMs, reason: string, fromOffset: number): string {
  return `${QUARANTINE_PREFIX}/date=${utcDate(receivedAt)}/reason=${hiveValue(reason)}/${partFileName(fromOffset)}`;
}
