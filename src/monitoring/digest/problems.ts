/**
 * Turns one week's measurements into problems a person can act on, ranked: what is wrong, with
 * which sensor, and what to do about it. Pure: the thresholds are the quality checks' own
 * (`quality.completeness`, `quality.ingest`), so the digest and `quality_results` agree on what
 * "incomplete" or "a high quarantine rate" means.
 *
 * Ranking: severity first (critical, warning, info), then the kind of problem (a silent sensor
 * before everything else: nothing it measures arrives), then the size of it.
 */
import { fmtDuration, fmtInt, fmtTime, pct, ratePct } from './format.js';
import type { Severity, SensorWeek, WeekStats } from './week-stats.js';

export interface DigestThresholds {
  /** Completeness below this: warning (quality.completeness.warnBelow). */
  warnBelow: number;
  /** Below this: critical. */
  criticalBelow: number;
  /** Above this: info, the declared interval is probably wrong. */
  infoAbove: number;
  /** Silent: no reading for longer than this many intervals (at the end of the week: critical). */
  silentIntervals: number;
  /** Quarantine rate: warning from (quality.ingest.quarantineWarn). */
  quarantineWarn: number;
  /** Quarantine rate: critical from. */
  quarantineCritical: number;
}

export type ProblemKind = 'silent' | 'never_reported' | 'incomplete' | 'interval_mismatch' | 'quarantine' | 'quality';

export interface Problem {
  /** 1 = the most urgent. */
  rank: number;
  /** null: about items that name no sensor. */
  sensorId: string | null;
  kind: ProblemKind;
  /** For kind `quality`: the check (spike, stuck, drift, …). */
  check?: string;
  severity: Severity;
  /** One sentence: what is wrong, with the numbers. */
  title: string;
  /** What to do about it. */
  action: string;
  score: number;
}

const BASE: Record<Severity, number> = { critical: 300, warning: 200, info: 100 };

const REASON_ACTION: Record<string, string> = {
  out_of_range: "values outside the registry's min/max: check the sensor's calibration, or correct min/max for the metric in the registry if the range is wrong",
  non_finite: 'the device sends null, NaN or text as values: usually a failing sensing element or a firmware bug; look at the payloads in the quarantine browser',
  invalid_json: 'the device sends payloads that are not JSON: check its firmware and encoding; samples are in the quarantine browser',
  schema: 'the device sends JSON in a shape Sensorpipe does not read: compare its payload with docs/architecture.md (payload format)',
  bad_timestamp: 'the device sends missing or unreadable timestamps: check its clock (NTP) and time format',
  future_timestamp: "the device's clock runs ahead: enable NTP on the device",
  unknown_sensor: 'the sensor is not registered while the registry is strict: register it, then replay its quarantine',
  identity_mismatch: 'the device publishes for a sensor it does not own: fix its configuration or its sensor list (sensorpipe devices)',
  conflicting_duplicate: 'the device resends readings for the same time with other values: check its clock and its retry logic',
  payload_too_large: 'messages are larger than validation.maxPayloadBytes: send smaller batches or raise the limit',
  invalid_id: 'sensor or metric names outside the id alphabet: rename them on the device',
};

const CHECK_ACTION: Record<string, string> = {
  stuck: 'the value is flat-lined: inspect or power-cycle the sensor',
  spike: 'implausible jumps: check wiring, power and interference (the readings stay stored; they are flagged in quality_results)',
  rate_of_change: 'changes faster than is physically plausible: check the sensor and its mounting',
  drift: 'the level drifted from its own baseline: recalibrate, or confirm it is a real change',
  group_consistency: 'disagrees with the sensors at the same location: recalibrate against its neighbours',
  rule: 'its metrics break a configured relation (quality.rules): check the sensing elements',
};

/** Checks whose findings are single readings. */
const OUTLIER_CHECKS = new Set(['spike', 'rate_of_change']);
/** Share of a sensor's readings flagged as outliers that makes a problem. */
const OUTLIER_SHARE = { warning: 0.01, critical: 0.05 };

/** The checks this module judges from its own measurements, not from their findings. */
const COVERED_CHECKS = new Set(['completeness', 'silent', 'quarantine_rate', 'duplicate_rate']);

function topReason(byReason: Record<string, number>): [string, number] | null {
  const e = Object.entries(byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return e[0] ?? null;
}

function reasonList(byReason: Record<string, number>): string {
  return Object.entries(byReason)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([r, n]) => `${r} ${fmtInt(n)}`)
    .join(', ');
}

type Draft = Omit<Problem, 'rank'>;

function sensorProblems(s: SensorWeek, week: WeekStats, t: DigestThresholds): Draft[] {
  const out: Draft[] = [];
  const id = s.sensorId;
  const periodS = (week.until - week.week.start) / 1000;
  const silent = s.intervalS !== null && s.silentForS !== null && s.silentForS > t.silentIntervals * s.intervalS;
  if (silent && s.lastSeen === null) {
    out.push({
      sensorId: id,
      kind: 'never_reported',
      severity: 'critical',
      title: `${id} is registered (every ${s.intervalS} s) but has never sent a reading`,
      action: `Check that the device is installed, powered and has its credentials (sensorpipe devices list); if it was retired, remove it from the registry.`,
      score: BASE.critical + 95,
    });
  } else if (silent) {
    out.push({
      sensorId: id,
      kind: 'silent',
      severity: 'critical',
      title: `${id} has been silent for ${fmtDuration(s.silentForS!)} (last reading ${fmtTime(s.lastSeen)}); completeness ${pct(s.completeness)}`,
      action: `Check its power, network and device credentials; nothing it measures arrives. Its last message is in the raw lake of ${fmtTime(s.lastSeen).slice(0, 10)}.`,
      score: BASE.critical + 90 + Math.min(1, s.silentForS! / Math.max(1, periodS)) * 9,
    });
  } else if (s.completeness !== null && s.completeness < t.warnBelow) {
    const severity: Severity = s.completeness < t.criticalBelow ? 'critical' : 'warning';
    const gap = s.longestGap ? `; longest gap ${fmtDuration(s.longestGap.seconds)} from ${fmtTime(s.longestGap.from)}` : '';
    out.push({
      sensorId: id,
      kind: 'incomplete',
      severity,
      title: `${id} sent ${pct(s.completeness)} of the expected readings (${fmtInt(s.samples)} of ${fmtInt(s.expected ?? 0)})${gap}`,
      action: `Look at the gaps in its sparkline: long gaps point to power or network outages, an even shortfall to a device that reports less often than its declared interval (${s.intervalS} s).`,
      score: BASE[severity] + 20 + (1 - s.completeness) * 50,
    });
  } else if (s.completeness !== null && s.completeness > t.infoAbove) {
    out.push({
      sensorId: id,
      kind: 'interval_mismatch',
      severity: 'info',
      title: `${id} sends ${s.completeness.toFixed(1)} x as often as its declared interval of ${s.intervalS} s`,
      action: `Correct expected_interval_s in the registry, so completeness and silence are judged right.`,
      score: BASE.info + 10,
    });
  }
  if (s.quarantineRate !== null && s.quarantineRate >= t.quarantineWarn) {
    const severity: Severity = s.quarantineRate >= t.quarantineCritical ? 'critical' : 'warning';
    const top = topReason(s.quarantineByReason);
    out.push({
      sensorId: id,
      kind: 'quarantine',
      severity,
      title: `${id}: ${ratePct(s.quarantineRate)} of its items were quarantined (${reasonList(s.quarantineByReason)})`,
      action: (top && REASON_ACTION[top[0]]) ?? 'see the quarantine browser for the reasons and payloads',
      score: BASE[severity] + 10 + Math.min(1, s.quarantineRate) * 50,
    });
  }
  for (const [check, counts] of Object.entries(s.findingsByCheck)) {
    if (COVERED_CHECKS.has(check)) continue;
    const n = counts.critical + counts.warning;
    let severity: Severity | null = counts.critical > 0 ? 'critical' : counts.warning > 0 ? 'warning' : null;
    // Spikes and implausible rates are single readings: a few a week happen on every real sensor
    // (0.3 % of the occupancy temperatures), so they count by their share of the readings.
    if (OUTLIER_CHECKS.has(check) && n > 0) {
      const share = n / Math.max(1, s.readings);
      severity = share >= OUTLIER_SHARE.critical ? 'critical' : share >= OUTLIER_SHARE.warning ? 'warning' : 'info';
    }
    if (!severity) continue;
    const example = s.examples.find((e) => e.check === check);
    out.push({
      sensorId: id,
      kind: 'quality',
      check,
      severity,
      title:
        `${id}: ${fmtInt(n)} ${check} finding${n === 1 ? '' : 's'} (${counts.critical} critical)` +
        (OUTLIER_CHECKS.has(check) ? `, ${pct(n / Math.max(1, s.readings), 2)} of its readings` : '') +
        (example ? `, e.g. ${example.detail}` : ''),
      action: CHECK_ACTION[check] ?? `see quality_results (check ${check}) and docs/quality.md`,
      score: BASE[severity] + Math.min(n, 100) * 0.4,
    });
  }
  return out;
}

/** Every problem of the week, ranked (rank 1 first). */
export function findProblems(week: WeekStats, t: DigestThresholds): Problem[] {
  const drafts = week.sensors.flatMap((s) => sensorProblems(s, week, t));
  const un = Object.values(week.unattributedQuarantine).reduce((a, b) => a + b, 0);
  if (un > 0) {
    const rate = week.accounting.received > 0 ? un / week.accounting.received : 1;
    const severity: Severity = rate >= t.quarantineCritical ? 'critical' : rate >= t.quarantineWarn ? 'warning' : 'info';
    const top = topReason(week.unattributedQuarantine);
    drafts.push({
      sensorId: null,
      kind: 'quarantine',
      severity,
      title: `${fmtInt(un)} quarantined item${un === 1 ? '' : 's'} named no sensor (${reasonList(week.unattributedQuarantine)})`,
      action: `${(top && REASON_ACTION[top[0]]) ?? 'see the quarantine browser'}; the topic and device id of each item are in the quarantine table.`,
      score: BASE[severity] + 5 + Math.min(1, rate) * 50,
    });
  }
  drafts.sort((a, b) => b.score - a.score || (a.sensorId ?? '').localeCompare(b.sensorId ?? ''));
  return drafts.map((d, i) => ({ rank: i + 1, ...d, score: Math.round(d.score * 100) / 100 }));
}

/** A sensor's status: its worst problem (info does not count as a problem). */
export function statusOf(problems: readonly Problem[], sensorId: string): 'ok' | 'warning' | 'critical' {
  const mine = problems.filter((p) => p.sensorId === sensorId);
  if (mine.some((p) => p.severity === 'critical')) return 'critical';
  if (mine.some((p) => p.severity === 'warning')) return 'warning';
  return 'ok';
}
