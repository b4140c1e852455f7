/**
 * stuck: a sensor repeating the same value for much longer than it ever does naturally.
 *
 * From the pair's history ([start - historyMs, start)) the job learns, in SQL (gaps-and-islands
 * with window functions, which DuckDB and PostgreSQL share): its resting values (exact values held
 * for >= restingShare of the history: 0 lux at night, a sensor's floor), the longest run of identical
 * readings at a non-resting value, and the run still going on at the start of the window. Both
 * exclude that last run, so a sensor stuck since before the window cannot teach the check that
 * being stuck is normal. A run in the window (continuing that last run when it matches) at a
 * non-resting value is flagged once it reaches max(minRun, ceil(factor x longest natural run));
 * critical from twice that. Pairs with less than minHistoryMs of history are not checked.
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import { stuckFindings, type StuckHistory } from '../stats.js';
import { fetchSeries, fmt, iso, msOf, pairKey, sqlTs, tsParam, type QualityRow } from '../store.js';
import { qualityJob } from './common.js';

/**
 * One query over the history: runs (gaps-and-islands with lag and a running sum), then per pair
 * the last run (kind 'last': length, start, last value), the history's first reading and size
 * without the last run ('first'), the longest run at a non-resting value ('longest') and the
 * resting values ('resting'). $1/$2 history bounds, $3 tolerance, $4 resting share.
 */
const HISTORY_SQL = `
  WITH h AS (
    SELECT sensor_id, metric, ts, value,
      CASE WHEN abs(value - lag(value) OVER (PARTITION BY sensor_id, metric ORDER BY ts)) <= CAST($3 AS DOUBLE PRECISION) THEN 0 ELSE 1 END AS chg
    FROM readings WHERE ts >= ${tsParam(1)} AND ts < ${tsParam(2)}
  ),
  g AS (
    SELECT sensor_id, metric, ts, value,
      sum(chg) OVER (PARTITION BY sensor_id, metric ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_id,
      last_value(value) OVER (PARTITION BY sensor_id, metric ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_value
    FROM h
  ),
  runs AS (
    SELECT sensor_id, metric, run_id, min(value) AS value, count(*) AS n, min(ts) AS first_ts, min(last_value) AS last_value
    FROM g GROUP BY sensor_id, metric, run_id
  ),
  rl AS (
    SELECT sensor_id, metric, run_id, value, n, first_ts, last_value, max(run_id) OVER (PARTITION BY sensor_id, metric) AS last_run FROM runs
  ),
  tot AS (
    SELECT sensor_id, metric, sum(n) AS n, min(first_ts) AS first_ts FROM rl WHERE run_id < last_run GROUP BY sensor_id, metric
  ),
  rest AS (
    SELECT v.sensor_id, v.metric, v.value
    FROM (SELECT sensor_id, metric, value, sum(n) AS n FROM rl WHERE run_id < last_run GROUP BY sensor_id, metric, value) v
    JOIN tot t ON t.sensor_id = v.sensor_id AND t.metric = v.metric
    WHERE v.n >= CAST($4 AS DOUBLE PRECISION) * t.n
  )
  SELECT 'last' AS kind, sensor_id, metric, CAST(n AS DOUBLE PRECISION) AS n, first_ts AS ts, last_value AS value FROM rl WHERE run_id = last_run
  UNION ALL
  SELECT 'first', sensor_id, metric, CAST(n AS DOUBLE PRECISION), first_ts, CAST(NULL AS DOUBLE PRECISION) FROM tot
  UNION ALL
  SELECT 'longest', r.sensor_id, r.metric, CAST(max(r.n) AS DOUBLE PRECISION), CAST(NULL AS TIMESTAMP), CAST(NULL AS DOUBLE PRECISION)
  FROM rl r LEFT JOIN rest x ON x.sensor_id = r.sensor_id AND x.metric = r.metric AND x.value = r.value
  WHERE r.run_id < r.last_run AND x.value IS NULL
  GROUP BY r.sensor_id, r.metric
  UNION ALL
  SELECT 'resting', sensor_id, metric, CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS TIMESTAMP), value FROM rest`;

interface PairHistory extends StuckHistory {
  firstTs: number;
}

async function loadHistories(tx: SqlTx, from: number, to: number, restingShare: number, tolerance: number): Promise<Map<string, PairHistory>> {
  const rows = await tx.all<{ kind: string; sensor_id: string; metric: string; n: number | null; ts: string | null; value: number | null }>(HISTORY_SQL, [
    sqlTs(from),
    sqlTs(to),
    tolerance,
    restingShare,
  ]);
  const out = new Map<string, PairHistory>();
  const get = (r: { sensor_id: string; metric: string }): PairHistory => {
    const k = pairKey(r.sensor_id, r.metric);
    let h = out.get(k);
    if (!h) out.set(k, (h = { firstTs: Infinity, longestNatural: 0, resting: [], lastRun: null }));
    return h;
  };
  for (const r of rows) {
    const h = get(r);
    if (r.kind === 'last') {
      h.lastRun = { value: Number(r.value), length: Number(r.n) };
      h.firstTs = Math.min(h.firstTs, msOf(r.ts));
    } else if (r.kind === 'first') h.firstTs = Math.min(h.firstTs, msOf(r.ts));
    else if (r.kind === 'longest') h.longestNatural = Number(r.n);
    else h.resting.push(Number(r.value));
  }
  return out;
}

export async function stuckRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const o = cfg.stuck;
  const histories = await loadHistories(tx, window.start - o.historyMs, window.start, o.restingShare, o.tolerance);
  const series = await fetchSeries(tx, window.start, window.end);
  const out: QualityRow[] = [];
  for (const s of series.values()) {
    const h = histories.get(pairKey(s.sensorId, s.metric));
    if (!h || !(window.start - h.firstTs >= o.minHistoryMs)) continue;
    for (const f of stuckFindings(s.values, h, o)) {
      const lastIdx = f.start + f.inWindow - 1;
      const since = f.carried > 0 ? `since before the window (${f.carried} readings before it)` : `from ${iso(s.ts[f.start])}`;
      out.push({
        check: 'stuck',
        sensorId: s.sensorId,
        metric: s.metric,
        severity: f.severity,
        observed: f.length,
        expected: f.threshold,
        detail:
          `value ${fmt(f.value)} repeated ${f.length} times ${since} to ${iso(s.ts[lastIdx])}; ` +
          `longest natural run in the last ${fmt(o.historyMs / 3_600_000)} h: ${h.longestNatural}, ` +
          `threshold max(${o.minRun}, ${fmt(o.factor)} x ${h.longestNatural}) = ${f.threshold}`,
      });
    }
  }
  return out;
}

export function stuckJob(cfg: QualityConfig): Job {
  return qualityJob('quality.stuck', cfg.windowMs, ['stuck'], (tx, window) => stuckRows(tx, window, cfg));
}
