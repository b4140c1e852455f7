/**
 * Known faults injected at known places into a dataset's samples, for the quality measurements
 * (bench/quality-eval.ts) and the real-data test. Every function is deterministic given its PRNG
 * and returns the changed samples plus the list of faults it made (the ground truth).
 *
 * Sizes are relative to the data, never absolute: a spike is m x the metric's robust spread in the
 * day around it, a drift m x the spread of the week before it (what the drift check itself uses as
 * its yardstick), a group disagreement m x the sensors' noise level. Values a fault would push out
 * of the registered range are not injected there (validation would quarantine them before any
 * check sees them; that path is measured by the quarantine-rate check).
 */
import type { MetricSpec } from '../../src/core/registry.js';
import { baselineSigma, mad, median, noiseSigma, quantile, restingValues } from '../../src/quality/stats.js';
import { gauss, type Sample } from './quality-data.js';

export type Rnd = () => number;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function pick<T>(rnd: Rnd, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

/** Deep-enough copy: samples with their own values objects. */
export function cloneSamples(samples: readonly Sample[]): Sample[] {
  return samples.map((s) => ({ sensorId: s.sensorId, ts: s.ts, values: { ...s.values } }));
}

/** Indices of the samples of one sensor that carry `metric`, in time order. */
export function metricIndex(samples: readonly Sample[], sensorId: string, metric: string): number[] {
  const out: number[] = [];
  samples.forEach((s, i) => {
    if (s.sensorId === sensorId && s.values[metric] !== undefined) out.push(i);
  });
  return out;
}

function clip(v: number, spec: MetricSpec | undefined): number {
  if (spec?.min != null && v < spec.min) return spec.min;
  if (spec?.max != null && v > spec.max) return spec.max;
  return v;
}

function inRange(v: number, spec: MetricSpec | undefined): boolean {
  return (spec?.min == null || v >= spec.min) && (spec?.max == null || v <= spec.max);
}

/** Robust spread of values (max of 1.4826 MAD and the inter-decile range / 2.563). */
export function spreadOf(values: readonly number[]): number {
  return baselineSigma(mad(values), quantile(values, 0.1), quantile(values, 0.9));
}

// ---------------------------------------------------------------- spikes

export interface SpikeFault {
  sensorId: string;
  metric: string;
  ts: number;
  original: number;
  value: number;
  /** Size in units of `sigma`. */
  magnitude: number;
  /** Robust spread of the metric in the 24 h around the spike. */
  sigma: number;
  /** Interval to the previous / next reading (ms), for rate-of-change truth. */
  prevTs: number | null;
  prevValue: number | null;
  nextTs: number | null;
  nextValue: number | null;
}

/**
 * `perMetric` single-reading spikes per metric, value + sign x m x sigma with m drawn from
 * `magnitudes`, at least `minGap` readings apart and away from the ends.
 */
export function injectSpikes(
  samples: Sample[],
  o: { rnd: Rnd; sensorId: string; metrics: readonly string[]; specs: Record<string, MetricSpec>; perMetric: number; magnitudes: readonly number[]; minGap: number },
): SpikeFault[] {
  const faults: SpikeFault[] = [];
  for (const metric of o.metrics) {
    const idx = metricIndex(samples, o.sensorId, metric);
    if (idx.length < 4 * o.minGap) continue;
    const used = new Set<number>();
    let attempts = 0;
    let made = 0;
    while (made < o.perMetric && attempts++ < o.perMetric * 50) {
      const k = o.minGap + Math.floor(o.rnd() * (idx.length - 2 * o.minGap));
      let clash = false;
      for (let d = -o.minGap; d <= o.minGap; d++) if (used.has(k + d)) clash = true;
      if (clash) continue;
      const s = samples[idx[k]];
      const original = s.values[metric];
      const near: number[] = [];
      for (let j = k - 1; j >= 0 && samples[idx[j]].ts >= s.ts - 12 * HOUR; j--) near.push(samples[idx[j]].values[metric]);
      for (let j = k + 1; j < idx.length && samples[idx[j]].ts <= s.ts + 12 * HOUR; j++) near.push(samples[idx[j]].values[metric]);
      const sigma = spreadOf(near);
      if (!(sigma > 0)) continue;
      const magnitude = pick(o.rnd, o.magnitudes);
      let sign = o.rnd() < 0.5 ? -1 : 1;
      let value = original + sign * magnitude * sigma;
      if (!inRange(value, o.specs[metric])) {
        sign = -sign;
        value = original + sign * magnitude * sigma;
        if (!inRange(value, o.specs[metric])) continue;
      }
      s.values[metric] = value;
      used.add(k);
      made++;
      const prev = k > 0 ? samples[idx[k - 1]] : null;
      const next = k + 1 < idx.length ? samples[idx[k + 1]] : null;
      faults.push({
        sensorId: o.sensorId,
        metric,
        ts: s.ts,
        original,
        value,
        magnitude,
        sigma,
        prevTs: prev?.ts ?? null,
        prevValue: prev?.values[metric] ?? null,
        nextTs: next?.ts ?? null,
        nextValue: next?.values[metric] ?? null,
      });
    }
  }
  return faults;
}

// ---------------------------------------------------------------- stuck

export interface StuckFault {
  sensorId: string;
  metric: string;
  start: number;
  /** Timestamp of the last stuck reading. */
  end: number;
  readings: number;
  value: number;
  /** The episode length asked for (ms). */
  lengthMs: number;
}

/**
 * Per metric, stuck episodes of `lengthMs` (drawn from the list): from a random reading on, the
 * sensor repeats that reading's value. Only observable episodes are made: the real values in the
 * episode change at least twice (>= 3 distinct values) and the held value is not a resting value
 * (held >= restingShare of the week before). Episodes start after `warmupMs` and are `gapMs` apart
 * (so that an episode is not in the history the next one is judged against).
 */
export function injectStuck(
  samples: Sample[],
  o: { rnd: Rnd; sensorId: string; metrics: readonly string[]; lengthsMs: readonly number[]; warmupMs: number; gapMs: number; restingShare: number; perMetric: number },
): StuckFault[] {
  const faults: StuckFault[] = [];
  for (const metric of o.metrics) {
    const idx = metricIndex(samples, o.sensorId, metric);
    if (idx.length === 0) continue;
    const t0 = samples[idx[0]].ts;
    const tEnd = samples[idx[idx.length - 1]].ts;
    let earliest = t0 + o.warmupMs;
    for (let e = 0; e < o.perMetric; e++) {
      const len = pick(o.rnd, o.lengthsMs);
      let done = false;
      for (let attempt = 0; attempt < 200 && !done; attempt++) {
        const latest = tEnd - len - HOUR;
        if (latest <= earliest) break;
        const start = earliest + o.rnd() * Math.min(latest - earliest, 3 * DAY);
        const k0 = idx.findIndex((i) => samples[i].ts >= start);
        if (k0 < 0) break;
        const ks: number[] = [];
        for (let k = k0; k < idx.length && samples[idx[k]].ts < samples[idx[k0]].ts + len; k++) ks.push(k);
        const vals = ks.map((k) => samples[idx[k]].values[metric]);
        if (new Set(vals).size < 3) continue;
        const held = vals[0];
        const week = idx.filter((i) => samples[i].ts < samples[idx[k0]].ts && samples[i].ts >= samples[idx[k0]].ts - 7 * DAY).map((i) => samples[i].values[metric]);
        if (restingValues(week, o.restingShare).includes(held)) continue;
        for (const k of ks) samples[idx[k]].values[metric] = held;
        faults.push({ sensorId: o.sensorId, metric, start: samples[idx[k0]].ts, end: samples[idx[ks[ks.length - 1]]].ts, readings: ks.length, value: held, lengthMs: len });
        earliest = samples[idx[ks[ks.length - 1]]].ts + o.gapMs;
        done = true;
      }
      if (!done) break;
    }
  }
  return faults;
}

// ---------------------------------------------------------------- drift

export interface DriftFault {
  sensorId: string;
  metric: string;
  start: number;
  /** End of the ramp (full offset reached). */
  rampEnd: number;
  /** End of the episode (recalibrated: offset back to 0). */
  end: number;
  offset: number;
  magnitude: number;
  sigma: number;
}

/**
 * Per metric, drift episodes: the offset grows linearly from 0 at `start` to m x sigma over rampMs,
 * stays for holdMs, then the sensor is recalibrated. sigma = spreadOf(the week before the start),
 * the yardstick the drift check uses; m from `magnitudes`. The sign is chosen so that at most
 * 10 % of the episode's readings leave the registered range (those are clipped to it).
 */
export function injectDrift(
  samples: Sample[],
  o: { rnd: Rnd; sensorId: string; metrics: readonly string[]; specs: Record<string, MetricSpec>; rampMs: number; holdMs: number; warmupMs: number; gapMs: number; magnitudes: readonly number[]; perMetric: number },
): DriftFault[] {
  const faults: DriftFault[] = [];
  for (const metric of o.metrics) {
    const idx = metricIndex(samples, o.sensorId, metric);
    if (idx.length === 0) continue;
    const tFirst = samples[idx[0]].ts;
    const tLast = samples[idx[idx.length - 1]].ts;
    let earliest = tFirst + o.warmupMs;
    for (let e = 0; e < o.perMetric; e++) {
      const dur = o.rampMs + o.holdMs;
      const latest = tLast - dur;
      if (latest <= earliest) break;
      const start = earliest + o.rnd() * Math.min(latest - earliest, 3 * DAY);
      const week = idx.filter((i) => samples[i].ts < start && samples[i].ts >= start - 7 * DAY).map((i) => samples[i].values[metric]);
      const sigma = spreadOf(week);
      if (!(sigma > 0)) {
        earliest = start + DAY;
        continue;
      }
      const magnitude = pick(o.rnd, o.magnitudes);
      const spec = o.specs[metric];
      // A drift that would push more than 10 % of the episode's readings out of the range would
      // saturate rather than drift: try the other sign, else another start.
      const inEpisode = idx.filter((i) => samples[i].ts >= start && samples[i].ts < start + dur);
      const clipped = (off: number) =>
        inEpisode.filter((i) => !inRange(samples[i].values[metric] + off * Math.min(1, (samples[i].ts - start) / o.rampMs), spec)).length > 0.1 * inEpisode.length;
      let sign = o.rnd() < 0.5 ? -1 : 1;
      if (clipped(sign * magnitude * sigma)) sign = -sign;
      if (inEpisode.length === 0 || clipped(sign * magnitude * sigma)) {
        earliest = start + DAY;
        e--;
        if (earliest > latest) break;
        continue;
      }
      const offset = sign * magnitude * sigma;
      for (const i of idx) {
        const t = samples[i].ts;
        if (t < start || t >= start + dur) continue;
        let v = samples[i].values[metric] + offset * Math.min(1, (t - start) / o.rampMs);
        if (spec?.min != null) v = Math.max(spec.min, v);
        if (spec?.max != null) v = Math.min(spec.max, v);
        samples[i].values[metric] = v;
      }
      faults.push({ sensorId: o.sensorId, metric, start, rampEnd: start + o.rampMs, end: start + dur, offset, magnitude, sigma });
      earliest = start + dur + o.gapMs;
    }
  }
  return faults;
}

// ---------------------------------------------------------------- gaps

export interface GapFault {
  sensorId: string;
  /** First missing instant and the end of the gap (exclusive). */
  start: number;
  end: number;
  /** Readings removed (samples). */
  removed: number;
}

/** `count` gaps of `intervals` x intervalMs (drawn from the list): the sensor sends nothing. */
export function injectGaps(
  samples: Sample[],
  o: { rnd: Rnd; sensorId: string; count: number; intervalMs: number; intervals: readonly number[]; minSpacingMs: number; marginMs: number },
): { samples: Sample[]; faults: GapFault[] } {
  const own = samples.filter((s) => s.sensorId === o.sensorId);
  const tFirst = own[0].ts + o.marginMs;
  const tLast = own[own.length - 1].ts - o.marginMs;
  const faults: GapFault[] = [];
  for (let attempt = 0; faults.length < o.count && attempt < o.count * 100; attempt++) {
    const len = pick(o.rnd, o.intervals) * o.intervalMs;
    const start = tFirst + o.rnd() * (tLast - tFirst - len);
    if (faults.some((f) => start < f.end + o.minSpacingMs && start + len > f.start - o.minSpacingMs)) continue;
    const removed = own.filter((s) => s.ts >= start && s.ts < start + len).length;
    if (removed === 0) continue;
    faults.push({ sensorId: o.sensorId, start, end: start + len, removed });
  }
  faults.sort((a, b) => a.start - b.start);
  const kept = samples.filter((s) => s.sensorId !== o.sensorId || !faults.some((f) => s.ts >= f.start && s.ts < f.end));
  return { samples: kept, faults };
}

/**
 * Silences in the data as it is: consecutive readings of a metric more than `limitMs` apart, and
 * the stretches before the metric's first and after its last reading while the sensor sends
 * other metrics (NMHC(GT) of the air quality data stops after a few weeks).
 */
export function naturalGaps(samples: readonly Sample[], sensorId: string, metric: string, limitMs: number): { from: number; to: number }[] {
  const own = samples.filter((s) => s.sensorId === sensorId);
  if (own.length === 0) return [];
  const out: { from: number; to: number }[] = [];
  let prev: number | null = null;
  for (const s of own) {
    if (s.values[metric] === undefined) continue;
    if (prev === null && s.ts - own[0].ts > limitMs) out.push({ from: own[0].ts, to: s.ts });
    if (prev !== null && s.ts - prev > limitMs) out.push({ from: prev, to: s.ts });
    prev = s.ts;
  }
  const end = own[own.length - 1].ts;
  if (prev === null) out.push({ from: own[0].ts, to: end });
  else if (end - prev > limitMs) out.push({ from: prev, to: end + limitMs });
  return out;
}

// ---------------------------------------------------------------- groups

/**
 * `members` sensors derived from one real sensor, as if co-located: member_j(t) = x(t) + b_j +
 * w_j(t) + e_j(t), with e_j white noise of the real sensor's own noise level (noiseSigma of the
 * metric), w_j a slow wander (AR(1), 1 h time constant, same stationary sigma: the micro-climate
 * and response-time differences of real co-located sensors) and b_j a calibration offset of
 * 0.5 x that sigma. Only the noise level comes from the data; the rest is a model (docs/quality.md).
 * Values are clipped to the registered range (a light sensor reads 0, not -3 lux, in the dark).
 */
export function deriveGroup(
  samples: readonly Sample[],
  o: { rnd: Rnd; sensorId: string; members: number; prefix: string; metrics: readonly string[]; intervalMs: number; specs: Record<string, MetricSpec> },
): { samples: Sample[]; memberIds: string[]; noise: Record<string, number> } {
  const own = samples.filter((s) => s.sensorId === o.sensorId);
  const noise: Record<string, number> = {};
  for (const m of o.metrics) noise[m] = noiseSigma(own.filter((s) => s.values[m] !== undefined).map((s) => s.values[m]));
  const memberIds = Array.from({ length: o.members }, (_, j) => `${o.prefix}-${j + 1}`);
  const phi = Math.exp(-o.intervalMs / HOUR);
  const out: Sample[] = [];
  const bias = memberIds.map(() => Object.fromEntries(o.metrics.map((m) => [m, 0.5 * noise[m] * gauss(o.rnd)])));
  const wander = memberIds.map(() => Object.fromEntries(o.metrics.map((m) => [m, noise[m] * gauss(o.rnd)])));
  for (const s of own) {
    memberIds.forEach((id, j) => {
      const values: Record<string, number> = {};
      for (const m of o.metrics) {
        const x = s.values[m];
        if (x === undefined) continue;
        wander[j][m] = phi * wander[j][m] + Math.sqrt(1 - phi * phi) * noise[m] * gauss(o.rnd);
        values[m] = clip(x + bias[j][m] + wander[j][m] + noise[m] * gauss(o.rnd), o.specs[m]);
      }
      if (Object.keys(values).length > 0) out.push({ sensorId: id, ts: s.ts, values });
    });
  }
  return { samples: out, memberIds, noise };
}

export interface GroupFault {
  sensorId: string;
  metric: string;
  start: number;
  end: number;
  offset: number;
  magnitude: number;
  /**
   * Window starts where the offset shows: clipping to the range can hide it (a negative offset on a
   * light sensor at 0 in the dark); a window counts when the median change there is >= half the offset.
   */
  observableWindows: number[];
}

/**
 * Offsets of m x noise[metric] on one member for whole windows [start, end), episodes spaced
 * apart; values clipped to the registered range.
 */
export function injectGroupOffsets(
  samples: Sample[],
  o: {
    rnd: Rnd;
    memberIds: readonly string[];
    metrics: readonly string[];
    noise: Record<string, number>;
    specs: Record<string, MetricSpec>;
    windows: readonly number[];
    windowMs: number;
    durationWindows: number;
    spacingWindows: number;
    magnitudes: readonly number[];
  },
): GroupFault[] {
  const faults: GroupFault[] = [];
  for (const metric of o.metrics) {
    if (!(o.noise[metric] > 0)) continue;
    for (let w = 1 + Math.floor(o.rnd() * o.spacingWindows); w + o.durationWindows < o.windows.length - 1; w += o.durationWindows + o.spacingWindows) {
      const sensorId = pick(o.rnd, o.memberIds);
      const magnitude = pick(o.rnd, o.magnitudes);
      const offset = (o.rnd() < 0.5 ? -1 : 1) * magnitude * o.noise[metric];
      const start = o.windows[w];
      const end = start + o.durationWindows * o.windowMs;
      faults.push({ sensorId, metric, start, end, offset, magnitude, observableWindows: [] });
    }
  }
  for (const f of faults) {
    const changes = new Map<number, number[]>();
    for (const s of samples) {
      if (s.sensorId !== f.sensorId || s.ts < f.start || s.ts >= f.end || s.values[f.metric] === undefined) continue;
      const before = s.values[f.metric];
      s.values[f.metric] = clip(before + f.offset, o.specs[f.metric]);
      const w = f.start + Math.floor((s.ts - f.start) / o.windowMs) * o.windowMs;
      const l = changes.get(w) ?? [];
      l.push(Math.abs(s.values[f.metric] - before));
      changes.set(w, l);
    }
    f.observableWindows = [...changes].filter(([, l]) => median(l) >= 0.5 * Math.abs(f.offset)).map(([w]) => w);
  }
  return faults;
}

// ---------------------------------------------------------------- rules

/** Dew point (Magnus formula, b = 17.62, c = 243.12 °C) from temperature (°C) and relative humidity (%). */
export function dewPoint(t: number, rh: number): number {
  const g = Math.log(Math.max(rh, 0.1) / 100) + (17.62 * t) / (243.12 + t);
  return (243.12 * g) / (17.62 - g);
}

/** Adds dew_point (rounded to 0.01) to every sample with temperature and humidity. */
export function addDewPoint(samples: Sample[], temperature = 'temperature', humidity = 'humidity'): void {
  for (const s of samples) {
    const t = s.values[temperature];
    const rh = s.values[humidity];
    if (t !== undefined && rh !== undefined) s.values.dew_point = Math.round(dewPoint(t, rh) * 100) / 100;
  }
}

export interface RuleFault {
  sensorId: string;
  ts: number;
}

/** In the chosen windows, 1-5 readings whose dew_point reads temperature + 0.5..3 (a swapped or failing channel). */
export function injectDewPointViolations(samples: Sample[], o: { rnd: Rnd; sensorId: string; windows: readonly number[]; windowMs: number }): RuleFault[] {
  const faults: RuleFault[] = [];
  for (const w of o.windows) {
    const inW = samples.filter((s) => s.sensorId === o.sensorId && s.ts >= w && s.ts < w + o.windowMs && s.values.dew_point !== undefined);
    if (inW.length === 0) continue;
    const n = 1 + Math.floor(o.rnd() * 5);
    for (let i = 0; i < n; i++) {
      const s = pick(o.rnd, inW);
      s.values.dew_point = Math.round((s.values.temperature + 0.5 + 2.5 * o.rnd()) * 100) / 100;
      faults.push({ sensorId: o.sensorId, ts: s.ts });
    }
  }
  return faults;
}

/** The median of a list (re-exported for the bench). */
export { median };
