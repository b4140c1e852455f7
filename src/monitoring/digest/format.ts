/** How the digest writes numbers, times and changes: one place, so the HTML, the Markdown and the announcement say the same. */
import type { EpochMs } from '../../core/types.js';

export function pct(x: number | null, digits = 1): string {
  return x === null || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(digits)} %`;
}

/** A rate that is often tiny (quarantine): more digits below 1 %. */
export function ratePct(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return 'n/a';
  return pct(x, x > 0 && x < 0.01 ? 2 : 1);
}

const MINUS = '\u2212';

/** Difference of two fractions in percentage points: `+1.2 pp`, `−3.0 pp`, `±0.0 pp`. */
export function deltaPp(d: number | null, digits = 1): string {
  if (d === null || !Number.isFinite(d)) return 'n/a';
  const v = (d * 100).toFixed(digits);
  if (Number(v) === 0) return `±${(0).toFixed(digits)} pp`;
  return d > 0 ? `+${v} pp` : `${MINUS}${v.replace('-', '')} pp`;
}

/** Difference of counts: `+3`, `−2`, `±0`. */
export function deltaCount(d: number | null): string {
  if (d === null) return 'n/a';
  if (d === 0) return '±0';
  return d > 0 ? `+${fmtInt(d)}` : `${MINUS}${fmtInt(-d)}`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `2015-02-12 12:00 UTC` */
export function fmtTime(t: EpochMs | null): string {
  if (t === null) return 'never';
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** `Mon 9 Feb 2015` */
export function fmtDay(t: EpochMs): string {
  const d = new Date(t);
  const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mo = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${wd} ${d.getUTCDate()} ${mo} ${d.getUTCFullYear()}`;
}

/** `45 s`, `12 min`, `5.5 h`, `2.5 days` */
export function fmtDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, '')} h`;
  return `${(seconds / 86400).toFixed(1).replace(/\.0$/, '')} days`;
}
