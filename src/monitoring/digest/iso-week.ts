/**
 * ISO-8601 weeks (Monday 00:00 UTC to the next Monday), as the digest names them: `2026-W49`.
 * Week 1 is the week with the year's first Thursday, so a week belongs to the year of its Thursday.
 */
import type { EpochMs } from '../../core/types.js';

const DAY = 86_400_000;
export const WEEK_MS = 7 * DAY;

export interface IsoWeek {
  /** `2026-W49` */
  name: string;
  year: number;
  week: number;
  /** Monday 00:00 UTC. */
  start: EpochMs;
  /** The next Monday 00:00 UTC (exclusive). */
  end: EpochMs;
}

/** Monday 00:00 UTC of the week containing `t`. */
export function weekStartOf(t: EpochMs): EpochMs {
  const day = Math.floor(t / DAY) * DAY;
  const dow = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
  return day - dow * DAY;
}

/** The ISO week containing `t`. */
export function isoWeekOf(t: EpochMs): IsoWeek {
  const start = weekStartOf(t);
  const thursday = new Date(start + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / WEEK_MS) + 1;
  return { name: `${year}-W${String(week).padStart(2, '0')}`, year, week, start, end: start + WEEK_MS };
}

/** `2026-W49` (also `2026W49`, `2026-w49`) -> the week, or null when it is not one (week 53 only exists in some years). */
export function parseIsoWeek(s: string): IsoWeek | null {
  const m = /^(\d{4})-?[Ww](\d{1,2})$/.exec(s.trim());
  if (!m) return null;
  const year = Number(m[1]);
  const week = Number(m[2]);
  if (week < 1 || week > 53) return null;
  // 4 January is always in week 1.
  const start = weekStartOf(Date.UTC(year, 0, 4)) + (week - 1) * WEEK_MS;
  const w = isoWeekOf(start);
  return w.year === year && w.week === week ? w : null;
}

/** The last week that is over at `now` (the default digest week). */
export function lastCompleteWeek(now: EpochMs): IsoWeek {
  return isoWeekOf(weekStartOf(now) - DAY);
}

export function previousWeek(w: IsoWeek): IsoWeek {
  return isoWeekOf(w.start - DAY);
}
