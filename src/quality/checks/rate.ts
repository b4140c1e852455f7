/**
 * rate_of_change: |value change| / seconds between consecutive readings of a (sensor, metric)
 * above the metric's limit (quality.rateOfChange.maxRatePerS); critical above criticalFactor x the
 * limit. The reading before the window (within one window length) is the first reference, so a
 * jump right at the window start is seen. Reported at the later reading of each pair.
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import { fetchSeries, fmt, iso, lowerBound, type QualityRow } from '../store.js';
import { qualityJob } from './common.js';

export interface RateExceedance {
  index: number;
  rate: number;
  severity: 'warning' | 'critical';
}

/** Pure part: exceedances among readings [from, n) of one series (index i compares i-1 and i). */
export function rateExceedances(ts: readonly number[], values: readonly number[], limitPerS: number, criticalFactor: number, from = 1): RateExceedance[] {
  const out: RateExceedance[] = [];
  for (let i = Math.max(1, from); i < ts.length; i++) {
    const dt = (ts[i] - ts[i - 1]) / 1000;
    if (!(dt > 0)) continue;
    const rate = Math.abs(values[i] - values[i - 1]) / dt;
    if (rate > limitPerS) out.push({ index: i, rate, severity: rate > criticalFactor * limitPerS ? 'critical' : 'warning' });
  }
  return out;
}

export async function rateRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const limits = cfg.rateOfChange.maxRatePerS;
  const metrics = Object.keys(limits);
  if (metrics.length === 0) return [];
  const series = await fetchSeries(tx, window.start - (window.end - window.start), window.end, { metrics });
  const out: QualityRow[] = [];
  for (const s of series.values()) {
    const limit = limits[s.metric];
    const first = lowerBound(s.ts, window.start);
    if (first >= s.ts.length) continue;
    for (const e of rateExceedances(s.ts, s.values, limit, cfg.rateOfChange.criticalFactor, first)) {
      const i = e.index;
      out.push({
        check: 'rate_of_change',
        sensorId: s.sensorId,
        metric: s.metric,
        severity: e.severity,
        observed: e.rate,
        expected: limit,
        detail:
          `change at ${iso(s.ts[i])}: ${fmt(s.values[i - 1])} -> ${fmt(s.values[i])} in ${fmt((s.ts[i] - s.ts[i - 1]) / 1000)} s ` +
          `= ${fmt(e.rate)} per s, limit ${fmt(limit)} per s`,
      });
    }
  }
  return out;
}

export function rateJob(cfg: QualityConfig): Job {
  return qualityJob('quality.rate_of_change', cfg.windowMs, ['rate_of_change'], (tx, window) => rateRows(tx, window, cfg));
}
