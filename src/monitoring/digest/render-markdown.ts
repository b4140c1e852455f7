/** The digest as Markdown (for mail, chat or a wiki): the same headline, problems and table as the HTML, without sparklines. */
import type { Digest } from './digest.js';
import { deltaCount, deltaPp, fmtDay, fmtDuration, fmtInt, fmtTime, pct, ratePct } from './format.js';
import { headlineItems } from './headline.js';

/** Table cells must not break the table: pipes and newlines escaped. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function renderMarkdown(d: Digest): string {
  const out: string[] = [];
  const from = Date.parse(d.from);
  out.push(`# Data-quality digest, week ${d.week}`, '');
  out.push(`${fmtDay(from)} to ${fmtDay(Date.parse(d.to) - 86_400_000)} (UTC), compared with ${d.previousWeek}.` + (d.partial ? ` **The week is not over: measured until ${fmtTime(Date.parse(d.measuredUntil))}.**` : ''), '');
  for (const i of headlineItems(d)) {
    out.push(`- **${i.label}: ${i.value}**${i.change === null ? ' (no previous week)' : ` (${i.change} vs ${d.previousWeek})`}${i.note ? `. ${i.note}` : ''}`);
  }
  out.push('', '## Top problems', '');
  if (d.topProblems.length === 0) out.push('No problems this week.');
  for (const p of d.topProblems) out.push(`${p.rank}. **${p.severity}**: ${p.title}`, `   What to do: ${p.action}`);
  if (d.problemCount > d.topProblems.length) out.push('', `${d.problemCount - d.topProblems.length} more problems are in digest.json.`);
  out.push('', '## Sensors', '');
  out.push('| sensor | status | completeness | change | readings | quarantined | outliers | findings crit/warn | last reading | longest gap |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---|---|');
  for (const s of d.sensors) {
    const reasons = Object.entries(s.quarantineByReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(', ');
    out.push(
      '| ' +
        [
          s.sensorId,
          s.status,
          pct(s.completeness),
          s.change.completeness === null ? 'n/a' : deltaPp(s.change.completeness),
          fmtInt(s.readings),
          s.quarantined ? `${fmtInt(s.quarantined)} (${reasons}; ${ratePct(s.quarantineRate)})` : '0',
          fmtInt(s.outliers),
          `${s.findings.critical}/${s.findings.warning}`,
          s.lastSeen ? fmtTime(Date.parse(s.lastSeen)) : 'never',
          s.longestGap ? fmtDuration(s.longestGap.seconds) : '-',
        ]
          .map(cell)
          .join(' | ') +
        ' |',
    );
  }
  out.push('', '## Quarantine by reason', '');
  if (d.quarantineByReason.length === 0) out.push('Nothing was quarantined this week.');
  else {
    out.push(`| reason | items | ${d.previousWeek} | change |`, '|---|---:|---:|---:|');
    for (const r of d.quarantineByReason) {
      out.push(`| ${cell(r.reason)} | ${fmtInt(r.items)} | ${r.previous === null ? 'n/a' : fmtInt(r.previous)} | ${r.previous === null ? 'n/a' : deltaCount(r.items - r.previous)} |`);
    }
  }
  out.push('', `_Generated ${fmtTime(Date.parse(d.generatedAt))} by Sensorpipe. Sparklines are in digest.html; every number is in digest.json._`, '');
  return out.join('\n');
}
