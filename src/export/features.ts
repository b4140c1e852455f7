/**
 * A wide feature table from narrow readings (docs/export.md, "Feature datasets"): one row per
 * grid time t = from, from + resolution, … < to; per sensor and metric a value, a flag and a gap.
 *
 * Point in time: the row at t uses only readings with ts <= t, for `none` and `ffill`.
 *   none    value = the last reading in (t - resolution, t]              flag observed | missing
 *   ffill   value = the last reading with ts <= t, if t - ts <= maxGap    flag observed | filled | missing
 *   linear  value interpolated between the last reading at or before t and the first after t, if they
 *           are at most maxGap apart; this looks ahead of t, so it is NOT point-in-time correct (the
 *           manifest says so)                                             flag observed | interpolated | missing
 * gap_s = seconds from the last reading at or before t to t (null when there is none since
 * from - maxGap). `observed` means a reading fell in (t - resolution, t].
 * quality = the highest severity (info < warning < critical) of the quality findings
 * (quality_results) for that sensor and metric whose window [start, end) contains t, else null. A
 * finding is written after its window closes, so this column describes the data (for filtering
 * training rows) and is not knowledge available at t.
 *
 * Streaming: readings arrive in ts order; per series only the readings not yet passed are kept, and
 * the source is read ahead only to t + maxGap (for linear), so memory is bounded by that window.
 */
import type { ReadingRow } from './readings-pages.js';

export type Fill = 'none' | 'ffill' | 'linear';
export type Flag = 'observed' | 'filled' | 'interpolated' | 'missing';

export interface FeatureSpec {
  sensors: string[];
  metrics: string[];
  from: number;
  to: number;
  resolutionMs: number;
  fill: Fill;
  maxGapMs: number;
}

export interface FeatureColumn {
  sensor: string;
  metric: string;
  /** `<sensor>__<metric>`; the flag, gap and quality columns add `__flag`, `__gap_s` and `__quality`. */
  name: string;
}

export function featureColumns(spec: FeatureSpec): FeatureColumn[] {
  return spec.sensors.flatMap((sensor) => spec.metrics.map((metric) => ({ sensor, metric, name: `${sensor}__${metric}` })));
}

/** The window of readings a feature table needs: back maxGap for the first row, ahead maxGap for linear. */
export function sourceWindow(spec: FeatureSpec): { from: number; to: number } {
  return { from: spec.from - Math.max(spec.maxGapMs, spec.resolutionMs), to: spec.fill === 'linear' ? spec.to + spec.maxGapMs : spec.to };
}

interface Point {
  ts: number;
  value: number;
}

class Series {
  queue: Point[] = [];
  head = 0;
  last: Point | null = null;
  readings = 0;
  counts: Record<Flag, number> = { observed: 0, filled: 0, interpolated: 0, missing: 0 };
  push(p: Point): void {
    this.queue.push(p);
    this.readings++;
  }
  /** Moves readings with ts <= t into `last`. */
  advance(t: number): void {
    while (this.head < this.queue.length && this.queue[this.head].ts <= t) this.last = this.queue[this.head++];
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
  next(): Point | null {
    return this.head < this.queue.length ? this.queue[this.head] : null;
  }
}

/** A quality finding's window for one series (see `quality` above). */
export interface QualityWindow {
  start: number;
  end: number;
  severity: 'info' | 'warning' | 'critical';
}

const RANK = { info: 1, warning: 2, critical: 3 } as const;

/** Highest severity covering t, walking windows sorted by start with a moving pointer. */
class QualityTrack {
  private next = 0;
  private active: QualityWindow[] = [];
  constructor(private readonly windows: QualityWindow[]) {
    windows.sort((a, b) => a.start - b.start);
  }
  at(t: number): QualityWindow['severity'] | null {
    while (this.next < this.windows.length && this.windows[this.next].start <= t) this.active.push(this.windows[this.next++]);
    this.active = this.active.filter((w) => w.end > t);
    let best: QualityWindow['severity'] | null = null;
    for (const w of this.active) if (best === null || RANK[w.severity] > RANK[best]) best = w.severity;
    return best;
  }
}

export interface FeatureStats {
  rows: number;
  readingsRead: number;
  perColumn: Record<string, { readings: number } & Record<Flag, number>>;
}

/**
 * Builds the rows and hands them to `emit` in batches (time order). Row keys: `ts` (epoch ms), then
 * per column `<name>`, `<name>__flag`, `<name>__gap_s`.
 */
export async function buildFeatures(
  spec: FeatureSpec,
  readings: AsyncIterable<ReadingRow[]>,
  emit: (rows: Record<string, unknown>[]) => Promise<void>,
  batchRows = 5000,
  quality: Map<string, QualityWindow[]> = new Map(),
): Promise<FeatureStats> {
  const cols = featureColumns(spec);
  const tracks = new Map(cols.map((c) => [c.name, new QualityTrack(quality.get(c.name) ?? [])]));
  const series = new Map<string, Series>(cols.map((c) => [c.name, new Series()]));
  const it = readings[Symbol.asyncIterator]();
  let buffered = -Infinity;
  let exhausted = false;
  let read = 0;
  const fillTo = async (until: number) => {
    while (!exhausted && buffered <= until) {
      const r = await it.next();
      if (r.done) {
        exhausted = true;
        return;
      }
      for (const x of r.value) {
        const ts = Date.parse(x.ts);
        buffered = ts;
        const s = series.get(`${x.sensor_id}__${x.metric}`);
        if (s) {
          s.push({ ts, value: x.value });
          read++;
        }
      }
    }
  };
  const res = spec.resolutionMs;
  const lookahead = spec.fill === 'linear' ? spec.maxGapMs : 0;
  let out: Record<string, unknown>[] = [];
  let rows = 0;
  for (let t = spec.from; t < spec.to; t += res) {
    await fillTo(t + lookahead);
    const row: Record<string, unknown> = { ts: t };
    for (const c of cols) {
      const s = series.get(c.name)!;
      s.advance(t);
      const last = s.last;
      const observed = last !== null && last.ts > t - res;
      let value: number | null = null;
      let flag: Flag = 'missing';
      if (spec.fill === 'none') {
        if (observed) [value, flag] = [last.value, 'observed'];
      } else if (spec.fill === 'ffill') {
        if (last !== null && t - last.ts <= spec.maxGapMs) [value, flag] = [last.value, observed ? 'observed' : 'filled'];
      } else if (last !== null && last.ts === t) {
        [value, flag] = [last.value, 'observed'];
      } else {
        const nx = s.next();
        if (last !== null && nx !== null && nx.ts - last.ts <= spec.maxGapMs) {
          value = last.value + ((nx.value - last.value) * (t - last.ts)) / (nx.ts - last.ts);
          flag = 'interpolated';
        }
      }
      s.counts[flag]++;
      row[c.name] = value;
      row[`${c.name}__flag`] = flag;
      row[`${c.name}__gap_s`] = last === null ? null : (t - last.ts) / 1000;
      row[`${c.name}__quality`] = tracks.get(c.name)!.at(t);
    }
    out.push(row);
    rows++;
    if (out.length >= batchRows) {
      await emit(out);
      out = [];
    }
  }
  if (out.length) await emit(out);
  const perColumn: FeatureStats['perColumn'] = {};
  for (const c of cols) {
    const s = series.get(c.name)!;
    perColumn[c.name] = { readings: s.readings, ...s.counts };
  }
  return { rows, readingsRead: read, perColumn };
}

/** `90s`, `5m`, `2h`, `1d` (or plain milliseconds) -> ms; NaN when not a duration. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}
