/**
 * spike: Hampel filter over each (sensor, metric) series.
 *
 * A reading in the window is a spike when it is more than k robust sigmas away from the median of
 * the 2h+1 readings around it; the sigma is max(1.4826 * MAD of those readings, the series' noise
 * level without that reading), the noise level being estimated from the non-zero differences of
 * the readings fetched (previous window, this window, up to h readings after it; NoiseFloor in
 * ../stats.ts). The noise floor keeps a flat or sample-and-hold stretch (MAD 0) from turning its
 * next small step into an "infinite" outlier; leaving the tested reading out keeps a spike on a
 * constant stretch from raising the floor itself. With fewer than 2h+1 changes in the context the
 * series counts as constant and any departure is a spike.
 *
 * Context: the previous window (so the first readings have a full window), and the first h
 * readings after the window when they exist (otherwise the window is shifted back at the end).
 */
import type { Job } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { TimeWindow } from '../../core/jobs.js';
import type { QualityConfig } from '../config.js';
import { NoiseFloor, hampel } from '../stats.js';
import { fetchSeries, fmt, iso, lowerBound, type QualityRow } from '../store.js';
import { qualityJob } from './common.js';

export async function spikeRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const o = cfg.spike;
  const windowMs = window.end - window.start;
  const series = await fetchSeries(tx, window.start - windowMs, window.end + windowMs);
  const out: QualityRow[] = [];
  for (const s of series.values()) {
    const from = lowerBound(s.ts, window.start);
    const to = lowerBound(s.ts, window.end);
    if (to <= from) continue;
    const stop = Math.min(s.ts.length, to + o.halfWindow);
    const values = s.values.slice(0, stop);
    const noise = new NoiseFloor(values, 2 * o.halfWindow + 1);
    for (const f of hampel(values, { halfWindow: o.halfWindow, k: o.k, criticalK: o.criticalK, floor: (i) => noise.at(i), from, to })) {
      out.push({
        check: 'spike',
        sensorId: s.sensorId,
        metric: s.metric,
        severity: f.severity,
        observed: f.value,
        expected: f.median,
        detail:
          `spike at ${iso(s.ts[f.index])}: ${fmt(f.value)} vs rolling median ${fmt(f.median)} of ${2 * o.halfWindow + 1} readings, ` +
          (f.scale > 0
            ? `${fmt(f.z)} robust sigmas (sigma ${fmt(f.scale)}; warning > ${fmt(o.k)}, critical > ${fmt(o.criticalK)})`
            : 'on a constant stretch (no variation around it to scale by)'),
      });
    }
  }
  return out;
}

export function spikeJob(cfg: QualityConfig): Job {
  return qualityJob('quality.spike', cfg.windowMs, ['spike'], (tx, window) => spikeRows(tx, window, cfg));
}
