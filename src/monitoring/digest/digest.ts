/**
 * The weekly data-quality digest as data (what `digest.json` holds; the HTML and Markdown render
 * it): headline numbers with the change against the previous week, the ranked problems, and one
 * entry per sensor. Pure: built from two measured weeks.
 */
import type { EpochMs } from '../../core/types.js';
import { findProblems, statusOf, type DigestThresholds, type Problem } from './problems.js';
import type { FindingExample, SensorWeek, SeverityCounts, WeekStats } from './week-stats.js';

export interface WeekTotals {
  sensors: number;
  sensorsOk: number;
  sensorsWithProblems: number;
  sensorsCritical: number;
  /** Fleet completeness: samples (capped at expected per sensor) / expected, over sensors with an interval. */
  completeness: number | null;
  readings: number;
  /** From the accounting (ingest_counts) of the week. */
  received: number;
  accepted: number;
  quarantined: number;
  rejected: number;
  duplicates: number;
  /** quarantined / (accepted + quarantined). */
  quarantineRate: number | null;
  outliers: number;
  findings: SeverityCounts;
}

export interface SensorDigest {
  sensorId: string;
  location: string | null;
  intervalS: number | null;
  status: 'ok' | 'warning' | 'critical';
  /** Its problems, most urgent first (the full entries are in topProblems / the ranked list). */
  problems: { kind: string; severity: 'critical' | 'warning' | 'info'; title: string }[];
  readings: number;
  samples: number;
  expected: number | null;
  completeness: number | null;
  lastSeen: string | null;
  longestGap: { from: string; to: string; seconds: number } | null;
  quarantined: number;
  quarantineRate: number | null;
  quarantineByReason: Record<string, number>;
  outliers: number;
  findings: SeverityCounts;
  findingsByCheck: Record<string, SeverityCounts>;
  examples: FindingExample[];
  previous: { status: 'ok' | 'warning' | 'critical'; completeness: number | null; samples: number; quarantined: number; findings: number } | null;
  change: { completeness: number | null; quarantined: number | null; findings: number | null };
  /** Samples per hour over the week, and what the interval promises per hour. */
  sparkline: { values: number[]; expectedPerHour: number | null };
}

export interface Digest {
  kind: 'sensorpipe.digest';
  version: 1;
  week: string;
  from: string;
  to: string;
  /** Where the measurement stops: the week's end, or the generation time for a week not over yet. */
  measuredUntil: string;
  partial: boolean;
  previousWeek: string;
  generatedAt: string;
  thresholds: DigestThresholds;
  headline: WeekTotals & {
    previous: WeekTotals | null;
    /** This week minus the previous one (fractions for rates, counts otherwise); null without a previous week. */
    change: { completeness: number | null; quarantineRate: number | null; sensorsWithProblems: number | null; readings: number | null; outliers: number | null };
  };
  topProblems: Problem[];
  /** Every problem (topProblems is the first few). */
  problemCount: number;
  quarantineByReason: { reason: string; items: number; previous: number | null }[];
  sensors: SensorDigest[];
}

export const TOP_PROBLEMS = 10;

const iso = (t: EpochMs | null) => (t === null ? null : new Date(t).toISOString());
const totalFindings = (f: SeverityCounts) => f.critical + f.warning + f.info;
const diff = (a: number | null, b: number | null | undefined) => (a === null || b === null || b === undefined ? null : a - b);

function totals(w: WeekStats, problems: Problem[]): WeekTotals {
  const statuses = w.sensors.map((s) => statusOf(problems, s.sensorId));
  let got = 0;
  let expected = 0;
  for (const s of w.sensors) {
    if (!s.expected) continue;
    got += Math.min(s.samples, s.expected);
    expected += s.expected;
  }
  const findings: SeverityCounts = { critical: 0, warning: 0, info: 0 };
  for (const s of w.sensors) for (const k of ['critical', 'warning', 'info'] as const) findings[k] += s.findings[k];
  const a = w.accounting;
  return {
    sensors: w.sensors.length,
    sensorsOk: statuses.filter((s) => s === 'ok').length,
    sensorsWithProblems: statuses.filter((s) => s !== 'ok').length,
    sensorsCritical: statuses.filter((s) => s === 'critical').length,
    completeness: expected > 0 ? got / expected : null,
    readings: w.sensors.reduce((n, s) => n + s.readings, 0),
    received: a.received,
    accepted: a.accepted,
    quarantined: a.quarantined,
    rejected: a.rejected,
    duplicates: a.duplicates,
    quarantineRate: a.accepted + a.quarantined > 0 ? a.quarantined / (a.accepted + a.quarantined) : null,
    outliers: w.sensors.reduce((n, s) => n + s.outliers, 0),
    findings,
  };
}

function hasData(w: WeekStats): boolean {
  return w.accounting.received > 0 || w.sensors.some((s) => s.readings > 0 || s.quarantined > 0);
}

export function buildDigest(current: WeekStats, previous: WeekStats, thresholds: DigestThresholds, generatedAt: EpochMs): Digest {
  const problems = findProblems(current, thresholds);
  const prevProblems = findProblems(previous, thresholds);
  const now = totals(current, problems);
  const prevHas = hasData(previous);
  const prev = prevHas ? totals(previous, prevProblems) : null;
  const prevSensor = new Map<string, SensorWeek>(previous.sensors.map((s) => [s.sensorId, s]));

  const reasons = new Map<string, { items: number; previous: number }>();
  const addReasons = (w: WeekStats, key: 'items' | 'previous') => {
    const all = [w.unattributedQuarantine, ...w.sensors.map((s) => s.quarantineByReason)];
    for (const byReason of all) {
      for (const [r, n] of Object.entries(byReason)) {
        const e = reasons.get(r) ?? reasons.set(r, { items: 0, previous: 0 }).get(r)!;
        e[key] += n;
      }
    }
  };
  addReasons(current, 'items');
  addReasons(previous, 'previous');

  const sensors: SensorDigest[] = current.sensors.map((s) => {
    const p = prevSensor.get(s.sensorId);
    const pHas = p !== undefined && prevHas && (p.readings > 0 || p.expected !== null);
    return {
      sensorId: s.sensorId,
      location: s.location,
      intervalS: s.intervalS,
      status: statusOf(problems, s.sensorId),
      problems: problems.filter((x) => x.sensorId === s.sensorId).map((x) => ({ kind: x.check ?? x.kind, severity: x.severity, title: x.title })),
      readings: s.readings,
      samples: s.samples,
      expected: s.expected,
      completeness: s.completeness,
      lastSeen: iso(s.lastSeen),
      longestGap: s.longestGap ? { from: iso(s.longestGap.from)!, to: iso(s.longestGap.to)!, seconds: s.longestGap.seconds } : null,
      quarantined: s.quarantined,
      quarantineRate: s.quarantineRate,
      quarantineByReason: s.quarantineByReason,
      outliers: s.outliers,
      findings: s.findings,
      findingsByCheck: s.findingsByCheck,
      examples: s.examples,
      previous: pHas
        ? { status: statusOf(prevProblems, s.sensorId), completeness: p.completeness, samples: p.samples, quarantined: p.quarantined, findings: totalFindings(p.findings) }
        : null,
      change: {
        completeness: pHas ? diff(s.completeness, p.completeness) : null,
        quarantined: pHas ? s.quarantined - p.quarantined : null,
        findings: pHas ? totalFindings(s.findings) - totalFindings(p.findings) : null,
      },
      sparkline: { values: s.hourly, expectedPerHour: s.intervalS ? 3600 / s.intervalS : null },
    };
  });
  // Worst first, then by name: the table reads like the problem list.
  const order = { critical: 0, warning: 1, ok: 2 };
  sensors.sort((a, b) => order[a.status] - order[b.status] || a.sensorId.localeCompare(b.sensorId));

  return {
    kind: 'sensorpipe.digest',
    version: 1,
    week: current.week.name,
    from: iso(current.week.start)!,
    to: iso(current.week.end)!,
    measuredUntil: iso(current.until)!,
    partial: current.until < current.week.end,
    previousWeek: previous.week.name,
    generatedAt: iso(generatedAt)!,
    thresholds,
    headline: {
      ...now,
      previous: prev,
      change: {
        completeness: diff(now.completeness, prev?.completeness),
        quarantineRate: diff(now.quarantineRate, prev?.quarantineRate),
        sensorsWithProblems: diff(now.sensorsWithProblems, prev?.sensorsWithProblems),
        readings: diff(now.readings, prev?.readings),
        outliers: diff(now.outliers, prev?.outliers),
      },
    },
    topProblems: problems.slice(0, TOP_PROBLEMS),
    problemCount: problems.length,
    quarantineByReason: [...reasons.entries()]
      .filter(([, v]) => v.items > 0 || v.previous > 0)
      .map(([reason, v]) => ({ reason, items: v.items, previous: prevHas ? v.previous : null }))
      .sort((a, b) => b.items - a.items || a.reason.localeCompare(b.reason)),
    sensors,
  };
}
