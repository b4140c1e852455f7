/**
 * An inline SVG sparkline of samples per hour: one bar-less line with the expected rate as a
 * dashed reference, so a gap reads as a drop to the floor and a shortfall as a line under the
 * dashes. No script, no external asset: it renders in any browser and in mail clients that show SVG.
 */
const HOURS_PER_WEEK = 168;
const W = 168;
const H = 28;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function sparklineSvg(values: readonly number[], expectedPerHour: number | null, label: string): string {
  const max = Math.max(1, expectedPerHour ?? 0, ...values) * 1.1;
  // One x unit per hour of a full week: a week not over yet fills only its part.
  const x = (i: number) => ((i + 0.5) * W) / HOURS_PER_WEEK;
  const y = (v: number) => H - 1 - (v / max) * (H - 2);
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const ref = expectedPerHour ? `<line x1="0" x2="${W}" y1="${y(expectedPerHour).toFixed(1)}" y2="${y(expectedPerHour).toFixed(1)}" class="ref"/>` : '';
  const zeros = values.reduce((k, v) => k + (v === 0 ? 1 : 0), 0);
  const title = `${label}: samples per hour over the week (${values.length} hours, ${zeros} without any reading)`;
  return (
    `<svg class="sparkline" role="img" aria-label="${esc(title)}" data-sensor="${esc(label)}" viewBox="0 0 ${W} ${H}" width="${W * 1.5}" height="${H * 1.5}" preserveAspectRatio="none">` +
    `<title>${esc(title)}</title>${ref}` +
    (values.length > 0 ? `<polyline points="${pts}" class="line"/>` : '') +
    `</svg>`
  );
}
