/** Time-window arithmetic for jobs. Windows are [start, end), UTC, aligned to multiples of their length since the epoch. */
import type { TimeWindow } from '../core/jobs.js';
import type { EpochMs } from '../core/types.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function alignDown(t: EpochMs, windowMs: number): EpochMs {
  return Math.floor(t / windowMs) * windowMs;
}

export function alignUp(t: EpochMs, windowMs: number): EpochMs {
  return Math.ceil(t / windowMs) * windowMs;
}

/** The windows of length `windowMs` that tile [from, to); both ends must be aligned. */
export function windowsIn(from: EpochMs, to: EpochMs, windowMs: number): TimeWindow[] {
  const out: TimeWindow[] = [];
  for (let s = from; s + windowMs <= to; s += windowMs) out.push({ start: s, end: s + windowMs });
  return out;
}

/** '1m', '1h', '1d', '15m', … */
export function formatDuration(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  return `${ms / 1000}s`;
}

export function iso(ms: EpochMs | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * Reads a time given on the command line or the API: ISO-8601 date or date-time (without a zone it
 * is UTC), `now`, or relative to now: `-90m`, `-36h`, `-7d`. Returns null when it is none of these.
 */
export function parseTime(s: string, now: EpochMs): EpochMs | null {
  const t = s.trim();
  if (t === 'now') return now;
  const rel = /^-(\d+)(m|h|d)$/.exec(t);
  if (rel) return now - Number(rel[1]) * { m: MINUTE, h: HOUR, d: DAY }[rel[2] as 'm' | 'h' | 'd'];
  if (!/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?([zZ]|[+-]\d\d:?\d\d)?$/.test(t)) return null;
  const hasTime = /[T ]\d\d:/.test(t);
  const hasZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(t);
  const ms = Date.parse(hasTime && !hasZone ? `${t.replace(' ', 'T')}Z` : t.replace(' ', 'T'));
  return Number.isNaN(ms) ? null : ms;
}
