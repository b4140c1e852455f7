/**
 * Partition directories of the lake, as the maintenance jobs see them. A partition directory is a
 * leaf directory holding Parquet files (`raw/date=…`, `raw/date=…/sensor_id=…`,
 * `quarantine/date=…/reason=…`); archived ones keep the same path below `archive/`.
 */
import { QUARANTINE_PREFIX, RAW_PREFIX } from './layout.js';

export const ARCHIVE_PREFIX = 'archive';

/** The live data sets and where each is archived. */
export const DATA_PREFIXES = [RAW_PREFIX, QUARANTINE_PREFIX] as const;

export function archivePrefixOf(prefix: string): string {
  return `${ARCHIVE_PREFIX}/${prefix}`;
}

/** Directory part of a relative path (`raw/date=2024-03-01/part-1.parquet` → `raw/date=2024-03-01`). */
export function partitionDirOf(relPath: string): string {
  const i = relPath.lastIndexOf('/');
  return i < 0 ? '' : relPath.slice(0, i);
}

export function archiveDirOf(dir: string): string {
  return `${ARCHIVE_PREFIX}/${dir}`;
}

const DATE_RE = /(?:^|\/)date=(\d{4}-\d{2}-\d{2})(?:\/|$)/;

/** Start of the partition's UTC day (epoch ms), or null when the path has no `date=` segment. */
export function partitionDay(dir: string): number | null {
  const m = DATE_RE.exec(dir);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T00:00:00Z`);
  return Number.isNaN(ms) ? null : ms;
}
