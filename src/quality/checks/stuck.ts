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

/** Runs of the history: run_id per reading, and the id of the pair's last run. */
const HISTORY_RUNS = `
  h AS (
    SELECT sensor_id, metric, ts, value,
      CASE WHEN abs(value - lag(value) OVER (PARTITION BY sensor_id, metric ORDER BY ts)) <= CAST($3 AS DOUBLE PRECISION) THEN 0 ELSE 1 END AS chg
    FROM readings WHERE ts >= ${tsParam(1)} AND ts < ${tsParam(2)}
  ),
  g AS (
    SELECT sensor_id, metric, ts, value,
      sum(chg) OVER (PARTITION BY sensor_id, metric ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_id
    FROM h
  ),
  gl AS (
    SELECT sensor_id, metric, ts, value, run_id, max(run_id) OVER (PARTITION BY sensor_id, metric) AS last_run FROM g
  ),
  tot AS (
    SELECT sensor_id, metric, count(*) AS n, min(ts) AS first_ts FROM gl WHERE run_id < last_run GROUP BY sensor_id, metric
  ),
  rest AS (
    SELECT v.sensor_id, v.metric, v.value
    FROM (SELECT sensor_id, metric, value, count(*) AS n FROM gl WHERE run_id < last_run GROUP BY sensor_id, metric, value) v
    JOIN tot t ON t.sensor_id = v.sensor_id AND t.metric = v.metric
    WHERE v.n >= CAST($4 AS DOUBLE PRECISION) * t.n
  )`;

interface PairHistory extends StuckHistory {
  firstTs: number;
}

async function loadHistories(tx: SqlTx, from: number, to: number, restingShare: number, tolerance: number): Promise<Map<string, PairHistory>> {
  const params = [sqlTs(from), sqlTs(to), tolerance, restingShare];
  const summary = await tx.all<Record<string, unknown>>(
    `WITH ${HISTORY_RUNS},
      runs AS (
        SELECT sensor_id, metric, run_id, last_run, min(value) AS value, count(*) AS n, min(ts) AS first_ts FROM gl
        GROUP BY sensor_id, metric, run_id, last_run
      ),
      natural_runs AS (
        SELECT r.sensor_id, r.metric, max(r.n) AS longest FROM runs r
        WHERE r.run_id < r.last_run
          AND NOT EXISTS (SELECT 1 FROM rest x WHERE x.sensor_id = r.sensor_id AND x.metric = r.metric AND x.value = r.value)
        GROUP BY r.sensor_id, r.metric
      ),
      last_runs AS (
        SELECT sensor_id, metric, n, first_ts FROM runs WHERE run_id = last_run
      ),
      last_values AS (
        SELECT sensor_id, metric, value FROM (
          SELECT sensor_id, metric, value, row_number() OVER (PARTITION BY sensor_id, metric ORDER BY ts DESC) AS rn FROM g
        ) x WHERE rn = 1
      )
    SELECT l.sensor_id, l.metric, l.n AS last_n, l.first_ts AS last_first_ts, v.value AS last_value,
      t.first_ts AS first_ts, nr.longest AS longest
    FROM last_runs l
    JOIN last_values v ON v.sensor_id = l.sensor_id AND v.metric = l.metric
    LEFT JOIN tot t ON t.sensor_id = l.sensor_id AND t.metric = l.metric
    LEFT JOIN natural_runs nr ON nr.sensor_id = l.sensor_id AND nr.metric = l.metric`,
    params,
  );
  const resting = await tx.all<{ sensor_id: string; metric: string; value: number }>(`WITH ${HISTORY_RUNS} SELECT sensor_id, metric, value FROM rest`, params);
  const out = new Map<string, PairHistory>();
  for (const r of summary) {
    const lastFirst = msOf(r.last_first_ts);
    out.set(pairKey(String(r.sensor_id), String(r.metric)), {
      // The history starts at its first reading (the last run's when it is the only run).
      firstTs: r.first_ts === null || r.first_ts === undefined ? lastFirst : Math.min(msOf(r.first_ts), lastFirst),
      longestNatural: typeof r.longest === 'number' ? r.longest : 0,
      resting: [],
      lastRun: { value: Number(r.last_value), length: Number(r.last_n) },
    });
  }
  for (const r of resting) out.get(pairKey(r.sensor_id, r.metric))?.resting.push(Number(r.value));
  return out;
}

export async function stuckRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const o = cfg.stuck;
  const histories = await loadHistories(tx, window.start - o.historyMs, window.start, o.restingShare, o.tolerance);
  const series = await fetchSeries(tx, window.start, window.end);
  const out: QualityRow[] = [];
  for (const s of series.values()) {
    const h = histories.get(pairKey(s.sensorId, s.metric));
    if (!h || window.start - h.firstTs < o.minHistoryMs) continue;
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
