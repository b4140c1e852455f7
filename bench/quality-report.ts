/**
 * The quality evaluation's report: the score type and the markdown tables of docs/quality.md.
 * Shared by bench/quality-eval.ts (which measures) and bench/quality-table.ts (which renders a
 * stored bench/results/quality-eval.json again without re-running the 35-minute measurement).
 */

export interface Score {
  check: string;
  dataset: string;
  fault: string;
  unit: string;
  positives: number;
  detected: number;
  recall: number | null;
  detectedCritical: number;
  clean: number;
  falsePositives: number;
  fpRate: number | null;
  falsePositivesCritical: number;
  /** Recall per fault size (the key is the size: sigma multiple, readings, intervals, …). */
  bySize?: Record<string, { positives: number; detected: number; recall: number | null }>;
  /** Smallest fault size from which every size has recall >= 95 % (null: none reached it). */
  recall95From?: string | null;
  /** The same per metric: positives, detected, clean units, false positives. */
  byMetric?: Record<string, { positives: number; detected: number; clean: number; fp: number; recall: number | null; fpRate: number | null }>;
  notes?: string;
}

export function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)} %`;
}

/** Smallest fault size from which every size has recall >= 95 % (null: none). */
export function reliableFrom(s: Score): string | null {
  if (!s.bySize) return null;
  const sizes = Object.entries(s.bySize).sort((a, b) => Number(a[0]) - Number(b[0]));
  let from: string | null = null;
  for (let i = sizes.length - 1; i >= 0; i--) {
    if ((sizes[i][1].recall ?? 0) >= 0.95) from = sizes[i][0];
    else break;
  }
  return from;
}

export function markdown(scores: Score[]): string {
  const lines = [
    '| check | dataset | positives | recall (any / critical) | clean units | false positives (any / critical) |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const s of scores) {
    lines.push(
      `| ${s.check} | ${s.dataset} | ${s.positives} | ${pct(s.recall)} / ${pct(s.positives ? s.detectedCritical / s.positives : null)} | ${s.clean} | ${pct(s.fpRate)} / ${pct(s.clean ? s.falsePositivesCritical / s.clean : null)} |`,
    );
  }
  lines.push('', '| check | dataset | recall by fault size (positives) | recall >= 95 % from size | notes |', '|---|---|---|---|---|');
  for (const s of scores) {
    if (!s.bySize && !s.notes) continue;
    const by = s.bySize ? Object.entries(s.bySize).map(([k, v]) => `${k}: ${pct(v.recall)} (${v.positives})`).join(', ') : '';
    lines.push(`| ${s.check} | ${s.dataset} | ${by} | ${reliableFrom(s) ?? (s.bySize ? 'none' : '')} | ${s.notes ?? ''} |`);
  }
  return lines.join('\n');
}

/** Recall over the fault sizes from `recall95From` up (the sizes where the check is reliable). */
export function recallFromReliable(s: Score): number | null {
  const from = reliableFrom(s);
  if (!s.bySize || from === null) return null;
  let pos = 0;
  let det = 0;
  for (const [size, v] of Object.entries(s.bySize)) {
    if (Number(size) < Number(from)) continue;
    pos += v.positives;
    det += v.detected;
  }
  return pos ? det / pos : null;
}

/**
 * The target table: per check and dataset, the false-positive rate on clean units and the recall
 * at the fault sizes the check is meant to see. A check without fault sizes (a count such as
 * completeness) is judged on its overall recall.
 */
export function targetTable(scores: Score[]): string {
  const lines = [
    '| check | dataset | false positives | recall (all sizes) | recall >= 95 % from size | recall from that size | target met |',
    '|---|---|---:|---:|---:|---:|---|',
  ];
  for (const s of scores) {
    const sized = s.bySize !== undefined;
    const from = reliableFrom(s);
    const reliable = sized ? recallFromReliable(s) : s.recall;
    const met = (s.fpRate ?? 0) <= 0.02 && reliable !== null && reliable >= 0.95;
    lines.push(
      `| ${s.check} | ${s.dataset} | ${pct(s.fpRate)} | ${pct(s.recall)} | ${sized ? (from ?? 'none') : 'n/a'} | ${pct(reliable)} | ${met ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}
