/** The headline numbers as text, shared by the HTML, the Markdown and the announcement so all three say the same. */
import type { Digest } from './digest.js';
import { deltaCount, deltaPp, fmtInt, pct, ratePct } from './format.js';

export interface HeadlineItem {
  label: string;
  value: string;
  /** Against the previous week, or null without one. */
  change: string | null;
  /** Whether the change is good news, bad news, or neither. */
  trend: 'better' | 'worse' | 'same' | null;
  note?: string;
}

function trend(d: number | null, higherIsBetter: boolean): HeadlineItem['trend'] {
  if (d === null) return null;
  if (Math.abs(d) < 1e-9) return 'same';
  return d > 0 === higherIsBetter ? 'better' : 'worse';
}

export function headlineItems(d: Digest): HeadlineItem[] {
  const h = d.headline;
  const c = h.change;
  return [
    {
      label: 'Sensors',
      value: `${h.sensorsOk} ok, ${h.sensorsWithProblems} with problems`,
      change: c.sensorsWithProblems === null ? null : `${deltaCount(c.sensorsWithProblems)} with problems`,
      trend: trend(c.sensorsWithProblems, false),
      note: `${h.sensors} sensors, ${h.sensorsCritical} critical`,
    },
    {
      label: 'Completeness',
      value: pct(h.completeness),
      change: c.completeness === null ? null : deltaPp(c.completeness),
      trend: trend(c.completeness, true),
      note: 'readings received / expected from each sensor’s interval',
    },
    {
      label: 'Quarantine rate',
      value: ratePct(h.quarantineRate),
      change: c.quarantineRate === null ? null : deltaPp(c.quarantineRate, 2),
      trend: trend(c.quarantineRate, false),
      note: `${fmtInt(h.quarantined)} of ${fmtInt(h.accepted + h.quarantined)} items; ${fmtInt(h.rejected)} rejected`,
    },
    {
      label: 'Outliers',
      value: `${fmtInt(h.outliers)} (${ratePct(h.readings > 0 ? h.outliers / h.readings : null)} of readings)`,
      change: c.outliers === null ? null : deltaCount(c.outliers),
      trend: trend(c.outliers, false),
      note: `spikes and implausible rates; all quality findings: ${fmtInt(h.findings.critical)} critical, ${fmtInt(h.findings.warning)} warning`,
    },
  ];
}

/** One line for notifications and the CLI: `week 2015-W07: 2 of 4 sensors with problems, completeness 81.3 % (−4.2 pp), quarantine 0.21 % (+0.10 pp)`. */
export function headlineSentence(d: Digest): string {
  const h = d.headline;
  const c = h.change;
  const ch = (s: string | null) => (s === null ? '' : ` (${s} vs ${d.previousWeek})`);
  return (
    `week ${d.week}: ${h.sensorsWithProblems} of ${h.sensors} sensors with problems, ` +
    `completeness ${pct(h.completeness)}${ch(c.completeness === null ? null : deltaPp(c.completeness))}, ` +
    `quarantine rate ${ratePct(h.quarantineRate)}${ch(c.quarantineRate === null ? null : deltaPp(c.quarantineRate, 2))}`
  );
}
