/**
 * Cron parsing, behind two small functions so the library can be swapped (croner today).
 * Schedules are standard 5-field cron (`minute hour day-of-month month day-of-week`, a 6th leading
 * seconds field is accepted) and are evaluated in **UTC**, like every time in Sensorpipe.
 */
import { Cron } from 'croner';
import type { EpochMs } from '../core/types.js';

function parse(expr: string): Cron {
  return new Cron(expr, { timezone: 'Etc/UTC', paused: true });
}

/** Why `expr` is not a usable schedule, or null when it is. */
export function cronProblem(expr: string): string | null {
  try {
    const next = parse(expr).nextRun(new Date(0));
    return next ? null : `cron schedule "${expr}" never fires`;
  } catch (err) {
    return `invalid cron schedule "${expr}": ${(err as Error).message.replace(/^CronPattern: /, '')} (5 fields, UTC: "minute hour day month weekday", e.g. "*/5 * * * *")`;
  }
}

/** The first time strictly after `after` at which `expr` fires, or null if it never fires again. */
export function nextCronTime(expr: string, after: EpochMs): EpochMs | null {
  const next = parse(expr).nextRun(new Date(after));
  return next ? next.getTime() : null;
}
