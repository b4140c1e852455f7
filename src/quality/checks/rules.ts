/**
 * rule: configured relations between metrics (quality.rules.list), e.g. `dew_point <= temperature`,
 * in the grammar of ../rules.ts.
 *
 * scope `sensor`: the metrics of one sensor at the same timestamp (one message usually carries
 * them all); every sensor reporting the rule's metrics is checked. scope `location`: per location,
 * readings are put in time buckets (the largest declared interval of the location's sensors, or 60 s)
 * and the rule is checked on the per-bucket medians of each metric over the location's sensors.
 * One row per (rule, sensor or location) with violations: observed = violations, expected = 0;
 * `metric` holds the rule text, `sensor_id` is NULL for a location. Critical when at least
 * criticalShare of the checked timestamps violate it.
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import { mustParseRule, ruleHolds, type Rule } from '../rules.js';
import { median } from '../stats.js';
import { fetchSeries, fmt, iso, loadPairs, type QualityRow, type Series } from '../store.js';
import { qualityJob } from './common.js';

export interface RuleCheck {
  checked: number;
  violations: { ts: number; values: Record<string, number> }[];
}

/** Pure part: evaluates a rule over aligned samples (timestamp -> metric values). */
export function checkRule(rule: Rule, samples: ReadonlyMap<number, Record<string, number>>, tolerance: number): RuleCheck {
  const out: RuleCheck = { checked: 0, violations: [] };
  for (const [ts, values] of [...samples].sort((a, b) => a[0] - b[0])) {
    const holds = ruleHolds(rule, values, tolerance);
    if (holds === null) continue;
    out.checked++;
    if (!holds) out.violations.push({ ts, values });
  }
  return out;
}

function describe(rule: Rule, tolerance: number, c: RuleCheck, cfg: QualityConfig): Pick<QualityRow, 'severity' | 'observed' | 'expected' | 'detail'> {
  const first = c.violations[0];
  const show = (v: { ts: number; values: Record<string, number> }) => `${iso(v.ts)} (${rule.metrics.map((m) => `${m}=${fmt(v.values[m])}`).join(', ')})`;
  const share = c.violations.length / c.checked;
  return {
    severity: share >= cfg.rules.criticalShare ? 'critical' : 'warning',
    observed: c.violations.length,
    expected: 0,
    detail:
      `${c.violations.length} of ${c.checked} checked timestamps violate ${rule.text}` +
      (tolerance > 0 ? ` (tolerance ${fmt(tolerance)})` : '') +
      `; first at ${show(first)}` +
      (c.violations.length > 1 ? `, last at ${show(c.violations[c.violations.length - 1])}` : ''),
  };
}

export async function ruleRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const rules = cfg.rules.list.map((r) => ({ ...r, rule: mustParseRule(r.expr) }));
  if (rules.length === 0) return [];
  const metrics = [...new Set(rules.flatMap((r) => r.rule.metrics))].sort();
  const series = await fetchSeries(tx, window.start, window.end, { metrics });
  const pairs = await loadPairs(tx);
  const bySensor = new Map<string, Series[]>();
  for (const s of series.values()) {
    let l = bySensor.get(s.sensorId);
    if (!l) bySensor.set(s.sensorId, (l = []));
    l.push(s);
  }
  const out: QualityRow[] = [];
  for (const { rule, scope, tolerance } of rules) {
    if (scope === 'sensor') {
      for (const [sensorId, list] of [...bySensor].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const own = list.filter((s) => rule.metrics.includes(s.metric));
        if (own.length < rule.metrics.length) continue;
        const samples = new Map<number, Record<string, number>>();
        for (const s of own) {
          for (let i = 0; i < s.ts.length; i++) {
            let rec = samples.get(s.ts[i]);
            if (!rec) samples.set(s.ts[i], (rec = {}));
            rec[s.metric] = s.values[i];
          }
        }
        const c = checkRule(rule, samples, tolerance);
        if (c.violations.length > 0) out.push({ check: 'rule', sensorId, metric: rule.text, ...describe(rule, tolerance, c, cfg) });
      }
    } else {
      const locations = new Map<string, { sensors: Set<string>; intervalS: number | null }>();
      for (const p of pairs) {
        if (p.location === null || p.location === '' || !rule.metrics.includes(p.metric)) continue;
        let l = locations.get(p.location);
        if (!l) locations.set(p.location, (l = { sensors: new Set(), intervalS: null }));
        l.sensors.add(p.sensorId);
        if (p.intervalS !== null) l.intervalS = Math.max(l.intervalS ?? 0, p.intervalS);
      }
      for (const [location, l] of [...locations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const size = (l.intervalS ?? 60) * 1000;
        const cells = new Map<number, Map<string, number[]>>();
        for (const id of l.sensors) {
          for (const s of bySensor.get(id) ?? []) {
            if (!rule.metrics.includes(s.metric)) continue;
            for (let i = 0; i < s.ts.length; i++) {
              const b = window.start + Math.floor((s.ts[i] - window.start) / size) * size;
              let cell = cells.get(b);
              if (!cell) cells.set(b, (cell = new Map()));
              let vals = cell.get(s.metric);
              if (!vals) cell.set(s.metric, (vals = []));
              vals.push(s.values[i]);
            }
          }
        }
        const samples = new Map<number, Record<string, number>>();
        for (const [b, cell] of cells) samples.set(b, Object.fromEntries([...cell].map(([m, vals]) => [m, median(vals)])));
        const c = checkRule(rule, samples, tolerance);
        if (c.violations.length > 0) {
          const d = describe(rule, tolerance, c, cfg);
          out.push({ check: 'rule', sensorId: null, metric: rule.text, ...d, detail: `location ${location}, buckets of ${fmt(size / 1000)} s: ${d.detail}` });
        }
      }
    }
  }
  return out;
}

export function ruleJob(cfg: QualityConfig): Job {
  return qualityJob('quality.rules', cfg.windowMs, ['rule'], (tx, window) => ruleRows(tx, window, cfg));
}
