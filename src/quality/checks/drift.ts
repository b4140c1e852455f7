/**
 * drift: the pair's recent median against its own history.
 *
 * recent = [end - recentMs, end), baseline = the baselineMs ending baselineGapMs before the recent
 * period. The gap (default one day) keeps the onset of a drift out of the baseline it is judged
 * against: without it, a drift that began a day before the recent period has already widened the
 * baseline's spread and shifted its median.
 * z = (median(recent) - median(baseline)) / sigma(baseline), sigma = max(1.4826 x MAD,
 * (P90 - P10) / 2.563) (baselineSigma in ../stats.ts); warning above k, critical above criticalK. Comparing a whole day (by default) with the week before it keeps the daily
 * cycle out of the comparison; scaling by the baseline's own spread means a drift is reported once
 * it is large against the metric's normal variation (smaller drifts need a reference: the group
 * check). Medians and MADs are computed in SQL (percentile_cont ... WITHIN GROUP, shared by DuckDB
 * and PostgreSQL). Not checked: a baseline shorter than minBaselineMs, a constant baseline
 * (sigma 0: no scale), or a recent period with fewer than half the expected readings (min 3).
 * Less baseline than minBaselineMs means: the first baseline reading is less than that before the
 * baseline's end.
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import { baselineSigma, severityOf, shiftZ } from '../stats.js';
import { fmt, iso, loadPairs, msOf, pairKey, sqlTs, tsParam, type QualityRow } from '../store.js';
import { qualityJob } from './common.js';

export async function driftRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const o = cfg.drift;
  const recentFrom = window.end - o.recentMs;
  const baseTo = recentFrom - o.baselineGapMs;
  const baseFrom = baseTo - o.baselineMs;
  const rows = await tx.all<Record<string, unknown>>(
    `WITH b AS (
        SELECT sensor_id, metric, ts, value FROM readings WHERE ts >= ${tsParam(1)} AND ts < ${tsParam(2)}
      ),
      bm AS (
        SELECT sensor_id, metric, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS med,
          percentile_cont(0.1) WITHIN GROUP (ORDER BY value) AS p10, percentile_cont(0.9) WITHIN GROUP (ORDER BY value) AS p90,
          count(*) AS n, min(ts) AS first_ts
        FROM b GROUP BY sensor_id, metric
      ),
      bmad AS (
        SELECT b.sensor_id, b.metric, percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(b.value - bm.med)) AS mad
        FROM b JOIN bm ON bm.sensor_id = b.sensor_id AND bm.metric = b.metric
        GROUP BY b.sensor_id, b.metric
      ),
      r AS (
        SELECT sensor_id, metric, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS med, count(*) AS n
        FROM readings WHERE ts >= ${tsParam(3)} AND ts < ${tsParam(4)} GROUP BY sensor_id, metric
      )
    SELECT r.sensor_id, r.metric, r.med AS recent_med, r.n AS recent_n, bm.med AS base_med, bm.n AS base_n,
      bm.first_ts AS base_first, bmad.mad AS base_mad, bm.p10 AS base_p10, bm.p90 AS base_p90
    FROM r
    JOIN bm ON bm.sensor_id = r.sensor_id AND bm.metric = r.metric
    JOIN bmad ON bmad.sensor_id = r.sensor_id AND bmad.metric = r.metric
    ORDER BY r.sensor_id, r.metric`,
    [sqlTs(baseFrom), sqlTs(baseTo), sqlTs(recentFrom), sqlTs(window.end)],
  );
  const intervals = new Map((await loadPairs(tx)).map((p) => [pairKey(p.sensorId, p.metric), p.intervalS]));
  const out: QualityRow[] = [];
  for (const r of rows) {
    const sensorId = String(r.sensor_id);
    const metric = String(r.metric);
    if (baseTo - msOf(r.base_first) < o.minBaselineMs) continue;
    const interval = intervals.get(pairKey(sensorId, metric)) ?? null;
    const minRecent = Math.max(3, interval ? (0.5 * o.recentMs) / (interval * 1000) : 3);
    if (Number(r.recent_n) < minRecent) continue;
    const recent = Number(r.recent_med);
    const base = Number(r.base_med);
    const sigma = baselineSigma(Number(r.base_mad), Number(r.base_p10), Number(r.base_p90));
    const z = shiftZ(recent, base, sigma);
    if (!Number.isFinite(z)) continue;
    const severity = severityOf(Math.abs(z), o.k, o.criticalK);
    if (!severity) continue;
    out.push({
      check: 'drift',
      sensorId,
      metric,
      severity,
      observed: recent,
      expected: base,
      detail:
        `median ${fmt(recent)} over ${iso(recentFrom)} .. ${iso(window.end)} vs ${fmt(base)} over ${iso(baseFrom)} .. ${iso(baseTo)}: ` +
        `shift ${fmt(recent - base)} = ${fmt(z)} robust sigmas (sigma ${fmt(sigma)} = max(1.4826 x MAD, (P90 - P10) / 2.563) of the baseline; ` +
        `warning > ${fmt(o.k)}, critical > ${fmt(o.criticalK)})`,
    });
  }
  return out;
}

export function driftJob(cfg: QualityConfig): Job {
  return qualityJob('quality.drift', cfg.windowMs, ['drift'], (tx, window) => driftRows(tx, window, cfg));
}
