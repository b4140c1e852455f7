/**
 * completeness and silent: readings counted against the sensor's declared `expected_interval_s`,
 * and periods with no reading for longer than `silentIntervals` intervals.
 *
 * Only registered (sensor, metric) pairs whose sensor declares an interval are checked. A pair that
 * reported before the window (within `lookbackMs`, or ever) is expected from the window start;
 * otherwise from the earlier of its registration time (sensors.created_at) and its first reading in
 * the window: a sensor installed mid-window is not "incomplete" for the time before it existed,
 * and a sensor registered but never heard from is.
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import { fmt, iso, loadPairs, msOf, pairKey, replaceResults, sqlTs, tsParam, type QualityRow } from '../store.js';
import { qualityJob } from './common.js';

export const COMPLETENESS_CHECKS = ['completeness', 'silent'] as const;

interface PairTimes {
  n: number;
  firstInRange: number | null;
  lastBefore: number | null;
  times: number[];
}

export async function completenessRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const c = cfg.completeness;
  const pairs = (await loadPairs(tx)).filter((p) => p.intervalS !== null);
  if (pairs.length === 0) return [];
  const lookFrom = window.start - c.lookbackMs;
  // Last reading before the window (within the lookback) and the window's timestamps, per pair.
  const before = await tx.all<{ sensor_id: string; metric: string; last_ts: string; first_ts: string }>(
    `SELECT sensor_id, metric, max(ts) AS last_ts, min(ts) AS first_ts FROM readings
     WHERE ts >= ${tsParam(1)} AND ts < ${tsParam(2)} GROUP BY sensor_id, metric`,
    [sqlTs(lookFrom), sqlTs(window.start)],
  );
  const inWindow = await tx.all<{ sensor_id: string; metric: string; ts: string }>(
    `SELECT sensor_id, metric, ts FROM readings WHERE ts >= ${tsParam(1)} AND ts < ${tsParam(2)} ORDER BY sensor_id, metric, ts`,
    [sqlTs(window.start), sqlTs(window.end)],
  );
  const times = new Map<string, PairTimes>();
  const get = (s: string, m: string): PairTimes => {
    const k = pairKey(s, m);
    let t = times.get(k);
    if (!t) {
      t = { n: 0, firstInRange: null, lastBefore: null, times: [] };
      times.set(k, t);
    }
    return t;
  };
  for (const r of before) get(r.sensor_id, r.metric).lastBefore = msOf(r.last_ts);
  for (const r of inWindow) {
    const t = get(r.sensor_id, r.metric);
    const ms = msOf(r.ts);
    t.times.push(ms);
    t.n++;
    if (t.firstInRange === null) t.firstInRange = ms;
  }
  // Pairs with no reading in the lookback: did they ever report before it?
  // (A pair that resumes after a long silence is not new: its window starts at the window start.)
  const quiet = pairs.filter((p) => (times.get(pairKey(p.sensorId, p.metric))?.lastBefore ?? null) === null);
  const older = new Map<string, number>();
  if (quiet.length > 0) {
    const sensors = [...new Set(quiet.map((p) => p.sensorId))];
    const ph = sensors.map((_, i) => `$${i + 2}`).join(', ');
    const rows = await tx.all<{ sensor_id: string; metric: string; last_ts: string }>(
      `SELECT sensor_id, metric, max(ts) AS last_ts FROM readings WHERE ts < ${tsParam(1)} AND sensor_id IN (${ph}) GROUP BY sensor_id, metric`,
      [sqlTs(lookFrom), ...sensors],
    );
    for (const r of rows) older.set(pairKey(r.sensor_id, r.metric), msOf(r.last_ts));
  }

  const out: QualityRow[] = [];
  for (const p of pairs) {
    const intervalMs = p.intervalS! * 1000;
    const t = times.get(pairKey(p.sensorId, p.metric)) ?? { n: 0, firstInRange: null, lastBefore: null, times: [] };
    const lastBefore = t.lastBefore ?? older.get(pairKey(p.sensorId, p.metric)) ?? null;
    // When was this pair first expected to report? From the window start if it reported before;
    // otherwise from the earlier of its registration (when before the window end) and its first reading.
    let expectedFrom: number;
    if (lastBefore !== null) expectedFrom = window.start;
    else {
      const candidates = [p.createdAt < window.end ? Math.max(window.start, p.createdAt) : Infinity, t.firstInRange ?? Infinity];
      expectedFrom = Math.min(...candidates);
      if (expectedFrom === Infinity) continue; // registered after this window and never reported: nothing was expected
    }

    // completeness
    const expected = (window.end - expectedFrom) / intervalMs;
    if (expected >= 1) {
      const ratio = t.n / expected;
      const base = `${t.n} readings, ${fmt(expected)} expected at one per ${fmt(p.intervalS!)} s from ${iso(expectedFrom)}`;
      if (ratio < c.warnBelow) {
        out.push({
          check: 'completeness',
          sensorId: p.sensorId,
          metric: p.metric,
          severity: ratio < c.criticalBelow ? 'critical' : 'warning',
          observed: t.n,
          expected,
          detail: `${base} (${fmt(ratio * 100)} %, below ${fmt((ratio < c.criticalBelow ? c.criticalBelow : c.warnBelow) * 100)} %)`,
        });
      } else if (ratio > c.infoAbove) {
        out.push({
          check: 'completeness',
          sensorId: p.sensorId,
          metric: p.metric,
          severity: 'info',
          observed: t.n,
          expected,
          detail: `${base} (${fmt(ratio * 100)} %): more readings than the declared interval allows; is expected_interval_s right?`,
        });
      }
    }

    // silent: gaps longer than silentIntervals x interval that overlap the window
    const limitMs = c.silentIntervals * intervalMs;
    let prev = lastBefore ?? expectedFrom;
    let prevReal = lastBefore !== null;
    for (const ts of t.times) {
      if (ts - prev > limitMs) {
        out.push(silentRow(p.sensorId, p.metric, prev, ts, prevReal, false, limitMs, c.silentIntervals, p.intervalS!));
      }
      prev = ts;
      prevReal = true;
    }
    if (window.end - prev > limitMs) {
      out.push(silentRow(p.sensorId, p.metric, prev, window.end, prevReal, true, limitMs, c.silentIntervals, p.intervalS!));
    }
  }
  return out;
}

function silentRow(
  sensorId: string,
  metric: string,
  from: number,
  to: number,
  fromIsReading: boolean,
  ongoing: boolean,
  limitMs: number,
  k: number,
  intervalS: number,
): QualityRow {
  const since = fromIsReading ? `no reading after ${iso(from)}` : `no reading since ${iso(from)} (no earlier reading known)`;
  const until = ongoing ? `, still silent at the window end ${iso(to)}` : ` until ${iso(to)}`;
  return {
    check: 'silent',
    sensorId,
    metric,
    severity: ongoing ? 'critical' : 'warning',
    observed: (to - from) / 1000,
    expected: limitMs / 1000,
    detail: `${since}${until}: ${fmt((to - from) / 1000)} s, more than ${fmt(k)} x the ${fmt(intervalS)} s interval`,
  };
}

export function completenessJob(cfg: QualityConfig): Job {
  return qualityJob('quality.completeness', cfg.windowMs, COMPLETENESS_CHECKS, (tx, window) => completenessRows(tx, window, cfg));
}
