/** Timing of one query: the cold first run (also the warm-up), then the median of the timed runs. */
export interface Timing {
  coldMs: number;
  medianMs: number | null;
  runsMs: number[];
  /** Rows the query returned (or points, through the API). */
  rows: number;
  error?: string;
}

/**
 * Runs `fn` once cold, then `runs` more times and takes the median. A query whose cold run took
 * longer than `slowMs` gets only 2 timed runs (the deadline of a 100 M run would not hold 5 runs of
 * minute-long scans); the result says how many runs the median is of.
 */
export async function timeQuery(fn: () => Promise<number>, opts: { runs: number; slowMs: number }): Promise<Timing> {
  const once = async () => {
    const t = performance.now();
    const rows = await fn();
    return { ms: performance.now() - t, rows };
  };
  let cold: { ms: number; rows: number };
  try {
    cold = await once();
  } catch (err) {
    return { coldMs: NaN, medianMs: null, runsMs: [], rows: 0, error: err instanceof Error ? err.message : String(err) };
  }
  const n = cold.ms > opts.slowMs ? Math.min(2, opts.runs) : opts.runs;
  const runsMs: number[] = [];
  for (let k = 0; k < n; k++) runsMs.push((await once()).ms);
  const sorted = [...runsMs].sort((a, b) => a - b);
  const median = sorted.length === 0 ? null : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { coldMs: round(cold.ms), medianMs: median === null ? null : round(median), runsMs: runsMs.map(round), rows: cold.rows };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
