/**
 * group_consistency: a member of a group of sensors measuring the same thing that departs from the
 * group median.
 *
 * Groups: quality.group.groups (configured, optionally limited to some metrics) and, with
 * byLocation, the sensors sharing a `location` (per metric). A group is compared for a metric in a
 * window when at least minMembers members report it. Readings are put in time buckets of the
 * members' largest declared interval (or, without one, the median spacing of their readings),
 * aligned on the window start; per bucket the group median is taken and each member's residual
 * (its value minus the median) recorded. A member's deviation is the median of its residuals (so a
 * departure must hold for most of the window; a single spike does not count), and it is flagged
 * when |deviation| > max(k x pooled sigma, absTolerance[metric]), where the pooled sigma is
 * 1.4826 x the median |residual| over all members and buckets (noise plus the members' usual
 * calibration spread, robust to a minority of bad members; the common signal is already removed by
 * the per-bucket median), floored by the members' median noise level of their residual series
 * (noiseSigma). Critical above criticalK/k times the tolerance. A member needs residuals in
 * at least half of the group's buckets (min 3) to be judged.
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import { groupDeviations, median } from '../stats.js';
import { fetchSeries, fmt, loadPairs, pairKey, type PairSpec, type QualityRow, type Series } from '../store.js';
import { qualityJob } from './common.js';

interface GroupDef {
  name: string;
  sensors: string[];
  metrics: string[] | null;
}

/** Configured groups, then location groups (a location group with the same members as a configured one is dropped). */
export function groupsFor(cfg: QualityConfig, pairs: readonly PairSpec[]): GroupDef[] {
  const out: GroupDef[] = cfg.group.groups.map((g) => ({ name: g.name, sensors: [...new Set(g.sensors)].sort(), metrics: g.metrics ?? null }));
  if (cfg.group.byLocation) {
    const seen = new Set(out.map((g) => g.sensors.join('\u0000')));
    const byLoc = new Map<string, Set<string>>();
    for (const p of pairs) {
      if (p.location === null || p.location === '') continue;
      let s = byLoc.get(p.location);
      if (!s) byLoc.set(p.location, (s = new Set()));
      s.add(p.sensorId);
    }
    for (const [loc, set] of [...byLoc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const sensors = [...set].sort();
      if (sensors.length < cfg.group.minMembers || seen.has(sensors.join('\u0000'))) continue;
      out.push({ name: `location ${loc}`, sensors, metrics: null });
    }
  }
  return out;
}

function bucketMs(members: readonly Series[], intervals: readonly (number | null)[]): number {
  const declared = intervals.filter((x): x is number => x !== null);
  if (declared.length > 0) return Math.max(...declared) * 1000;
  const gaps: number[] = [];
  for (const s of members) for (let i = 1; i < s.ts.length; i++) gaps.push(s.ts[i] - s.ts[i - 1]);
  const m = median(gaps);
  return Number.isFinite(m) && m > 0 ? m : 60_000;
}

export async function groupRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const o = cfg.group;
  const pairs = await loadPairs(tx);
  const groups = groupsFor(cfg, pairs);
  if (groups.length === 0) return [];
  const specs = new Map(pairs.map((p) => [pairKey(p.sensorId, p.metric), p]));
  const allSensors = [...new Set(groups.flatMap((g) => g.sensors))].sort();
  const series = await fetchSeries(tx, window.start, window.end, { sensors: allSensors });
  const out: QualityRow[] = [];
  for (const g of groups) {
    const metrics = g.metrics ?? [...new Set([...series.values()].filter((s) => g.sensors.includes(s.sensorId)).map((s) => s.metric))].sort();
    for (const metric of metrics) {
      const members = g.sensors.map((id) => series.get(pairKey(id, metric))).filter((s): s is Series => s !== undefined && s.ts.length > 0);
      if (members.length < o.minMembers) continue;
      const size = bucketMs(
        members,
        members.map((s) => specs.get(pairKey(s.sensorId, metric))?.intervalS ?? null),
      );
      const nb = Math.max(1, Math.ceil((window.end - window.start) / size));
      const cells: number[][][] = Array.from({ length: nb }, () => members.map(() => []));
      members.forEach((s, j) => {
        for (let i = 0; i < s.ts.length; i++) cells[Math.min(nb - 1, Math.floor((s.ts[i] - window.start) / size))][j].push(s.values[i]);
      });
      const matrix = cells.map((row) => row.map((vals) => (vals.length > 0 ? median(vals) : undefined)));
      const res = groupDeviations(matrix, members.length, o.minMembers);
      if (res.buckets === 0) continue;
      const tol = Math.max(o.k * res.scale, o.absTolerance[metric] ?? 0);
      if (!(tol > 0)) continue;
      for (const d of res.members) {
        if (d.buckets < Math.max(3, 0.5 * res.buckets) || !(Math.abs(d.deviation) > tol)) continue;
        const s = members[d.member];
        const critical = Math.abs(d.deviation) > (o.criticalK / o.k) * tol;
        out.push({
          check: 'group_consistency',
          sensorId: s.sensorId,
          metric,
          severity: critical ? 'critical' : 'warning',
          observed: median(s.values),
          expected: res.groupMedian,
          detail:
            `departs from the median of group ${g.name} (${members.length} members reporting) by ${fmt(d.deviation)} ` +
            `(median over ${d.buckets} buckets of ${fmt(size / 1000)} s); tolerance ${fmt(tol)} = max(${fmt(o.k)} x pooled sigma ${fmt(res.scale)}, ` +
            `absolute ${fmt(o.absTolerance[metric] ?? 0)})`,
        });
      }
    }
  }
  return out;
}

export function groupJob(cfg: QualityConfig): Job {
  return qualityJob('quality.group_consistency', cfg.windowMs, ['group_consistency'], (tx, window) => groupRows(tx, window, cfg));
}
