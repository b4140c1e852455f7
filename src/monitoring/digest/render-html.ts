/**
 * The digest as one self-contained HTML file (inline CSS, inline SVG, no script, no external
 * asset), laid out for a one-minute read: headline numbers with the change against the previous
 * week, then the ranked problems with what to do, then one row per sensor with its sparkline.
 */
import type { Digest, SensorDigest } from './digest.js';
import { deltaCount, deltaPp, fmtDay, fmtDuration, fmtInt, fmtTime, pct, ratePct } from './format.js';
import { headlineItems } from './headline.js';
import { sparklineSvg } from './sparkline.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
const e = escapeHtml;

const CSS = `
:root{--ok:#1a7f37;--warn:#9a6700;--crit:#cf222e;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0;padding:24px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}.sub{color:var(--muted);margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fff}
.card .label{color:var(--muted);font-size:13px}.card .value{font-size:22px;font-weight:600;margin:2px 0}
.card .note{color:var(--muted);font-size:12px}.change{font-size:13px;font-weight:600}
.better{color:var(--ok)}.worse{color:var(--crit)}.same{color:var(--muted)}
ol.problems{padding-left:22px;margin:0}ol.problems li{margin:0 0 10px}.action{color:var(--muted)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;vertical-align:1px}
.badge.critical{background:var(--crit)}.badge.warning{background:var(--warn)}.badge.info{background:#0969da}.badge.ok{background:var(--ok)}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:middle}
th{background:var(--bg);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
#sensors td:first-child{white-space:nowrap}
.sparkline{display:block;background:var(--bg);border-radius:3px}.sparkline .line{fill:none;stroke:#0969da;stroke-width:1.2}
.sparkline .ref{stroke:var(--muted);stroke-dasharray:3 3;stroke-width:.6}
.small{font-size:12px;color:var(--muted)}footer{margin-top:28px;color:var(--muted);font-size:12px}
`;

function changeSpan(text: string | null, trend: 'better' | 'worse' | 'same' | null): string {
  return text === null ? '<span class="change same">no previous week</span>' : `<span class="change ${trend ?? 'same'}">${e(text)}</span>`;
}

function sensorRow(s: SensorDigest, previousWeek: string): string {
  const comp = s.completeness === null ? '<span class="small">no interval declared</span>' : e(pct(s.completeness));
  const compChange = s.change.completeness === null ? '' : `<div class="small">${e(deltaPp(s.change.completeness))} vs ${e(previousWeek)}</div>`;
  const reasons = Object.entries(s.quarantineByReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${e(r)} ${fmtInt(n)}`).join(', ');
  const q = s.quarantined === 0 ? '0' : `${fmtInt(s.quarantined)} <div class="small">${reasons}; ${e(ratePct(s.quarantineRate))}</div>`;
  const checks = Object.entries(s.findingsByCheck).map(([c, n]) => `${e(c)} ${n.critical + n.warning + n.info}`).join(', ');
  const findings = `${fmtInt(s.findings.critical)} / ${fmtInt(s.findings.warning)}${checks ? `<div class="small">${checks}</div>` : ''}`;
  // Short labels here; the sentences are in the problem list above (and in the tooltip).
  const problems = s.problems.length
    ? `<div class="small">${s.problems.map((p) => `<span title="${e(p.title)}">${e(p.kind.replace('_', ' '))}${p.severity === 'info' ? ' (info)' : ''}</span>`).join(', ')}</div>`
    : '';
  return (
    `<tr data-sensor="${e(s.sensorId)}"><td><strong>${e(s.sensorId)}</strong>${s.location ? `<div class="small">${e(s.location)}</div>` : ''}</td>` +
    `<td><span class="badge ${s.status}">${s.status}</span>${problems}</td>` +
    `<td class="num">${comp}${compChange}</td>` +
    `<td>${sparklineSvg(s.sparkline.values, s.sparkline.expectedPerHour, s.sensorId)}</td>` +
    `<td class="num">${fmtInt(s.readings)}</td><td class="num">${q}</td><td class="num">${fmtInt(s.outliers)}</td><td class="num">${findings}</td>` +
    `<td>${e(s.lastSeen ? fmtTime(Date.parse(s.lastSeen)) : 'never')}${s.longestGap ? `<div class="small">longest gap ${e(fmtDuration(s.longestGap.seconds))}</div>` : ''}</td></tr>`
  );
}

export function renderHtml(d: Digest): string {
  const from = Date.parse(d.from);
  const lastDay = Date.parse(d.to) - 86_400_000;
  const items = headlineItems(d);
  const cards = items
    .map(
      (i) =>
        `<div class="card" data-headline="${e(i.label)}"><div class="label">${e(i.label)}</div><div class="value">${e(i.value)}</div>` +
        `${changeSpan(i.change, i.trend)}${i.note ? `<div class="note">${e(i.note)}</div>` : ''}</div>`,
    )
    .join('');
  const problems = d.topProblems.length
    ? `<ol class="problems">${d.topProblems
        .map((p) => `<li data-rank="${p.rank}"><span class="badge ${p.severity}">${p.severity}</span> ${e(p.title)}<div class="action">What to do: ${e(p.action)}</div></li>`)
        .join('')}</ol>${d.problemCount > d.topProblems.length ? `<p class="small">${d.problemCount - d.topProblems.length} more problems are in digest.json.</p>` : ''}`
    : '<p>No problems this week: every sensor reported as expected, nothing unusual was quarantined or flagged.</p>';
  const reasons = d.quarantineByReason.length
    ? `<table><thead><tr><th>reason</th><th class="num">items</th><th class="num">${e(d.previousWeek)}</th><th class="num">change</th></tr></thead><tbody>${d.quarantineByReason
        .map((r) => `<tr><td>${e(r.reason)}</td><td class="num">${fmtInt(r.items)}</td><td class="num">${r.previous === null ? 'n/a' : fmtInt(r.previous)}</td><td class="num">${r.previous === null ? 'n/a' : e(deltaCount(r.items - r.previous))}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p>Nothing was quarantined this week.</p>';
  const partial = d.partial ? ` <strong>The week is not over: measured until ${e(fmtTime(Date.parse(d.measuredUntil)))}.</strong>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sensorpipe digest ${e(d.week)}</title><style>${CSS}</style></head>
<body>
<h1>Data-quality digest, week ${e(d.week)}</h1>
<p class="sub">${e(fmtDay(from))} to ${e(fmtDay(lastDay))} (UTC), compared with ${e(d.previousWeek)}.${partial}</p>
<section class="cards" id="headline">${cards}</section>
<h2>Top problems</h2>
<section id="problems">${problems}</section>
<h2>Sensors</h2>
<table id="sensors"><thead><tr><th>sensor</th><th>status</th><th class="num">completeness</th><th>samples per hour (dashed: expected)</th><th class="num">readings</th><th class="num">quarantined</th><th class="num">outliers</th><th class="num">findings crit / warn</th><th>last reading</th></tr></thead>
<tbody>${d.sensors.map((s) => sensorRow(s, d.previousWeek)).join('\n')}</tbody></table>
<h2>Quarantine by reason</h2>
<section id="quarantine">${reasons}</section>
<footer>Generated ${e(fmtTime(Date.parse(d.generatedAt)))} by Sensorpipe from the warehouse (readings, quarantine, quality_results, ingest_counts).
Thresholds: completeness warning below ${e(pct(d.thresholds.warnBelow, 0))}, critical below ${e(pct(d.thresholds.criticalBelow, 0))}; silent after ${d.thresholds.silentIntervals} intervals;
quarantine rate warning from ${e(pct(d.thresholds.quarantineWarn, 0))}, critical from ${e(pct(d.thresholds.quarantineCritical, 0))}. The same data is in digest.json and digest.md.</footer>
</body></html>
`;
}
