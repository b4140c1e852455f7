/**
 * Robust statistics for the quality checks: pure functions, no I/O (unit-tested on their own).
 *
 * Scale conventions: `1.4826 * MAD` estimates the standard deviation of normal data, so a robust
 * z of 3 means "3 sigma" for well-behaved data and stays meaningful when the data holds outliers.
 */

/** Consistency constant: 1.4826 * MAD = sigma for normal data (1 / Phi^-1(3/4)). */
export const MAD_SCALE = 1.482602218505602;

/** Median of the finite numbers in xs; NaN when there are none. Does not modify xs. */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Median absolute deviation from `center` (default: the median). NaN for no data. */
export function mad(xs: readonly number[], center = median(xs)): number {
  if (!Number.isFinite(center)) return NaN;
  return median(xs.map((x) => Math.abs(x - center)));
}

/** 1.4826 * MAD: a robust standard deviation. */
export function robustSigma(xs: readonly number[]): number {
  return MAD_SCALE * mad(xs);
}

/**
 * Robust noise level of a series from its first differences, ignoring repeats:
 * 1.4826 * median(|x[i] - x[i-1]| over the differences that are not 0) / sqrt(2).
 *
 * For white noise of sigma s the differences have sigma s*sqrt(2), hence the division. Repeats are
 * left out because many sensors are sample-and-hold (they resend the last value until the reading
 * changes by a step): a repeat says nothing about the noise, and counting it would drive the scale
 * to 0 and make every step look infinite. 0 when the series never changes.
 */
export function noiseSigma(values: readonly number[]): number {
  const d: number[] = [];
  for (let i = 1; i < values.length; i++) {
    const x = Math.abs(values[i] - values[i - 1]);
    if (x > 0 && Number.isFinite(x)) d.push(x);
  }
  if (d.length === 0) return 0;
  return (MAD_SCALE * median(d)) / Math.SQRT2;
}

/**
 * The noise level around each reading of a series, without that reading: noiseSigma() of the
 * series' non-zero first differences minus the two that touch reading i. A spike on a flat stretch
 * (light at 0 all night) makes the only non-zero differences of that stretch; leaving them out
 * keeps it from hiding behind its own noise estimate. Fewer than `minChanges` remaining changes
 * means the series is essentially constant: the floor is then 0 (any departure is news).
 */
export class NoiseFloor {
  private readonly sorted: number[];
  private readonly diffs: number[];
  constructor(
    values: readonly number[],
    private readonly minChanges: number,
  ) {
    this.diffs = [];
    for (let i = 1; i < values.length; i++) this.diffs.push(Math.abs(values[i] - values[i - 1]));
    this.sorted = this.diffs.filter((d) => d > 0 && Number.isFinite(d)).sort((a, b) => a - b);
  }

  /** 1.4826 x median(non-zero |differences| not touching reading i) / sqrt(2); 0 below minChanges. */
  at(i: number): number {
    const excl: number[] = [];
    for (const j of [i - 1, i]) {
      const d = this.diffs[j];
      if (d !== undefined && d > 0 && Number.isFinite(d)) excl.push(d);
    }
    const n = this.sorted.length - excl.length;
    if (n < Math.max(1, this.minChanges)) return 0;
    // Ranks (0-based) of the median in the reduced multiset, mapped back to the sorted array by
    // skipping one occurrence of each excluded value.
    const skip = excl.map((d) => lowerBoundOf(this.sorted, d)).sort((a, b) => a - b);
    for (let k = 1; k < skip.length; k++) if (skip[k] <= skip[k - 1]) skip[k] = skip[k - 1] + 1;
    const nth = (r: number): number => {
      let idx = r;
      for (const s of skip) if (s <= idx) idx++;
      return this.sorted[idx];
    };
    const med = n % 2 === 1 ? nth((n - 1) / 2) : (nth(n / 2 - 1) + nth(n / 2)) / 2;
    return (MAD_SCALE * med) / Math.SQRT2;
  }
}

function lowerBoundOf(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export type Severity = 'info' | 'warning' | 'critical';

export interface HampelOptions {
  /** Readings on each side of the tested one (window 2h+1). */
  halfWindow: number;
  /** Robust sigmas for a warning. */
  k: number;
  /** Robust sigmas for critical. */
  criticalK: number;
  /** Lower bound of the scale: a number, or one per reading (e.g. NoiseFloor.at); 0 for none. */
  floor: number | ((index: number) => number);
  /** Only indices in [from, to) are tested (the rest is context). Default: all. */
  from?: number;
  to?: number;
}

export interface HampelFinding {
  index: number;
  value: number;
  /** Rolling median of the window around the reading. */
  median: number;
  /** max(1.4826 * rolling MAD, floor). */
  scale: number;
  /** |value - median| / scale. */
  z: number;
  severity: 'warning' | 'critical';
}

/**
 * Hampel filter: reading i is an outlier when |x_i - median(W_i)| > k * max(1.4826 * MAD(W_i), floor),
 * W_i = the 2h+1 readings centred on i. Near the ends of the series the window is shifted to stay
 * inside it (always 2h+1 readings when the series has that many). Needs at least 2h+1 readings;
 * fewer gives no findings.
 */
export function hampel(values: readonly number[], o: HampelOptions): HampelFinding[] {
  const n = values.length;
  const h = o.halfWindow;
  const size = 2 * h + 1;
  const out: HampelFinding[] = [];
  if (n < size) return out;
  const from = Math.max(0, o.from ?? 0);
  const to = Math.min(n, o.to ?? n);
  const win = new Array<number>(size);
  const dev = new Array<number>(size);
  for (let i = from; i < to; i++) {
    let lo = i - h;
    if (lo < 0) lo = 0;
    if (lo + size > n) lo = n - size;
    for (let j = 0; j < size; j++) win[j] = values[lo + j];
    win.sort((a, b) => a - b);
    const m = win[h];
    for (let j = 0; j < size; j++) dev[j] = Math.abs(win[j] - m);
    dev.sort((a, b) => a - b);
    const d = Math.abs(values[i] - m);
    if (d === 0) continue;
    const scale = Math.max(MAD_SCALE * dev[h], typeof o.floor === 'number' ? o.floor : o.floor(i));
    const z = scale > 0 ? d / scale : Infinity;
    if (z > o.k) out.push({ index: i, value: values[i], median: m, scale, z, severity: z > o.criticalK ? 'critical' : 'warning' });
  }
  return out;
}

/** A maximal run of consecutive readings, each within `tolerance` of the one before it. */
export interface Run {
  start: number;
  length: number;
  value: number;
}

export function runs(values: readonly number[], tolerance = 0): Run[] {
  const out: Run[] = [];
  let i = 0;
  while (i < values.length) {
    let j = i + 1;
    while (j < values.length && Math.abs(values[j] - values[j - 1]) <= tolerance) j++;
    out.push({ start: i, length: j - i, value: values[i] });
    i = j;
  }
  return out;
}

/**
 * Resting values: exact values held for at least `share` of the readings. A sensor that rests at a
 * value that often (0 lux at night, a closed valve, 100 % RH in fog, a sensor's floor) is not stuck
 * when it stays there.
 */
export function restingValues(values: readonly number[], share: number): number[] {
  if (values.length === 0) return [];
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()]
    .filter(([, c]) => c >= share * values.length)
    .map(([v]) => v)
    .sort((a, b) => a - b);
}

export function isResting(value: number, resting: readonly number[], tolerance = 0): boolean {
  return resting.some((r) => Math.abs(r - value) <= tolerance);
}

/**
 * Run length from which a run of identical readings is a stuck sensor:
 * max(minRun, ceil(factor * longestNaturalRun)), where longestNaturalRun is the longest run at a
 * non-resting value in the sensor's own history (without the run still going on at its end).
 */
export function stuckThreshold(longestNaturalRun: number, minRun: number, factor: number): number {
  return Math.max(minRun, Math.ceil(factor * Math.max(1, longestNaturalRun)));
}

/** Longest run at a non-resting value, ignoring the last run (it may be the one being judged). */
export function longestNaturalRun(history: readonly number[], resting: readonly number[], tolerance = 0): number {
  const rs = runs(history, tolerance);
  let best = 0;
  for (let i = 0; i < rs.length - 1; i++) {
    if (!isResting(rs[i].value, resting, tolerance) && rs[i].length > best) best = rs[i].length;
  }
  return best;
}

/** What the stuck check learns from a pair's history (computed in SQL by the job; here for tests). */
export interface StuckHistory {
  /** Longest run at a non-resting value, the last run excluded. */
  longestNatural: number;
  /** Values held for at least restingShare of the history, the last run excluded. */
  resting: number[];
  /** The run still going on at the end of the history (it may continue into the window): its last value and length. */
  lastRun: { value: number; length: number } | null;
}

export function stuckHistory(history: readonly number[], restingShare: number, tolerance = 0): StuckHistory {
  const rs = runs(history, tolerance);
  if (rs.length === 0) return { longestNatural: 0, resting: [], lastRun: null };
  const last = rs[rs.length - 1];
  const resting = restingValues(history.slice(0, last.start), restingShare);
  return { longestNatural: longestNaturalRun(history, resting, tolerance), resting, lastRun: { value: history[history.length - 1], length: last.length } };
}

export interface StuckFinding {
  /** Index in the window's values where the run's part inside the window starts. */
  start: number;
  /** Readings of the run inside the window. */
  inWindow: number;
  /** Readings of the run before the window (carried over from the history). */
  carried: number;
  /** carried + inWindow. */
  length: number;
  value: number;
  threshold: number;
  severity: 'warning' | 'critical';
}

/**
 * Runs of the window (continuing the history's last run when the first reading matches it) at
 * non-resting values whose length reaches stuckThreshold(); critical from twice the threshold.
 */
export function stuckFindings(
  window: readonly number[],
  history: StuckHistory,
  o: { minRun: number; factor: number; tolerance: number },
): StuckFinding[] {
  const threshold = stuckThreshold(history.longestNatural, o.minRun, o.factor);
  const out: StuckFinding[] = [];
  for (const [i, r] of runs(window, o.tolerance).entries()) {
    const carried = i === 0 && history.lastRun && Math.abs(history.lastRun.value - r.value) <= o.tolerance ? history.lastRun.length : 0;
    const length = carried + r.length;
    if (isResting(r.value, history.resting, o.tolerance) || length < threshold) continue;
    out.push({ start: r.start, inWindow: r.length, carried, length, value: r.value, threshold, severity: length >= 2 * threshold ? 'critical' : 'warning' });
  }
  return out;
}

/** (P90 - P10) / IDR_SCALE = sigma for normal data (2 x 1.2816). */
export const IDR_SCALE = 2.5631031310892007;

/**
 * Robust spread of a baseline: the larger of 1.4826 x MAD and (P90 - P10) / 2.563. Both estimate
 * sigma for normal data; the inter-decile range keeps a skewed or zero-inflated distribution (CO2 in
 * an often empty room, light at night) from being judged by the width of its dense mode alone.
 */
export function baselineSigma(madValue: number, p10: number, p90: number): number {
  const a = MAD_SCALE * madValue;
  const b = (p90 - p10) / IDR_SCALE;
  return Math.max(Number.isFinite(a) ? a : 0, Number.isFinite(b) ? b : 0);
}

/** Quantile with linear interpolation (as SQL percentile_cont); NaN for no data. */
export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Robust z of a shift between a recent median and a baseline median; NaN when the scale is 0. */
export function shiftZ(recentMedian: number, baselineMedian: number, scale: number): number {
  if (!(scale > 0)) return NaN;
  return (recentMedian - baselineMedian) / scale;
}

export function severityOf(absZ: number, k: number, criticalK: number): Severity | null {
  if (!(absZ > k)) return null;
  return absZ > criticalK ? 'critical' : 'warning';
}

/** Members' values per time bucket: matrix[b][j] = member j's value in bucket b, or undefined. */
export interface GroupDeviation {
  member: number;
  /** Median over the buckets of (member value - group median of that bucket). */
  deviation: number;
  /** Buckets where the member was compared. */
  buckets: number;
}

export interface GroupResult {
  members: GroupDeviation[];
  /** Pooled scale: max(1.4826 * median |residual| over all members and buckets, the members' median residual noise level, floor). */
  scale: number;
  /** Median over the buckets of the group median. */
  groupMedian: number;
  /** Buckets with at least minMembers members. */
  buckets: number;
}

/**
 * Deviation of each member from the group: in every bucket with at least `minMembers` values the
 * group median is taken and each member's residual (value - median) recorded; a member's deviation
 * is the median of its residuals (so a departure must last more than half of the window), and
 * the scale is the pooled robust spread of all residuals (noise plus the members' usual calibration
 * differences), floored by the median over members of noiseSigma(their residual series) and by
 * `floor`.
 */
export function groupDeviations(matrix: readonly (readonly (number | undefined)[])[], members: number, minMembers: number, floor = 0): GroupResult {
  const residuals: number[][] = Array.from({ length: members }, () => []);
  const all: number[] = [];
  const medians: number[] = [];
  for (const row of matrix) {
    const present: number[] = [];
    for (let j = 0; j < members; j++) {
      const v = row[j];
      if (v !== undefined && Number.isFinite(v)) present.push(v);
    }
    if (present.length < minMembers) continue;
    const m = median(present);
    medians.push(m);
    for (let j = 0; j < members; j++) {
      const v = row[j];
      if (v === undefined || !Number.isFinite(v)) continue;
      residuals[j].push(v - m);
      all.push(Math.abs(v - m));
    }
  }
  // Floor: the members' own noise level, from their residual series (the common signal is already
  // out), so identical quantized readings (MAD 0) do not make every small difference infinite.
  const residualNoise = median(residuals.filter((r) => r.length > 2).map((r) => noiseSigma(r)));
  const scale = Math.max(all.length > 0 ? MAD_SCALE * median(all) : 0, Number.isFinite(residualNoise) ? residualNoise : 0, floor);
  return {
    members: residuals.map((r, member) => ({ member, deviation: r.length > 0 ? median(r) : NaN, buckets: r.length })),
    scale,
    groupMedian: median(medians),
    buckets: medians.length,
  };
}
