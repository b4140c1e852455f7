/**
 * The absolute targets of issue 8 measured by their own benches (lake storage, queries over
 * 100 M readings), as rows of the bench report's targets table: from this run when it measured
 * them, else from their latest results file, named with its date and command.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StorageBenchResult } from '../lake-storage.js';
import type { QueryBenchResult } from '../queries.js';

export interface Check {
  target: string;
  measured: string;
  ratio: string;
  met: string;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function latest<T>(file: string): T | null {
  const path = fileURLToPath(new URL(`../results/${file}`, import.meta.url));
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null;
}

export function storageChecks(thisRun: StorageBenchResult | null): Check[] {
  const r = thisRun ?? latest<StorageBenchResult>('storage-latest.json');
  const label = 'lake <= 1.37 bytes per reading (real datasets)';
  if (!r) return [{ target: label, measured: 'not measured (node --import tsx bench/lake-storage.ts, or --targets storage)', ratio: '-', met: '-' }];
  const from = thisRun ? 'this run' : `bench/results/storage-latest.json of ${r.date.slice(0, 10)}`;
  return r.datasets
    .filter((d) => d.kind === 'real')
    .map((d) => {
      const best = [d.stages.writer, d.stages.compacted, d.stages.archived].reduce((a, b) => (b.perReading.total < a.perReading.total ? b : a));
      return {
        target: `${label}: ${d.name}`,
        measured: `${fmt(best.perReading.total, 2)} B/reading in the lake (timestamp + value alone ${fmt(best.perReading.tsValue, 2)}), ${fmt(d.readings)} readings (${from}; docs/performance-storage.md)`,
        ratio: `${(best.perReading.total / 1.37).toFixed(2)}x Gorilla, ${(best.perReading.total / 3).toFixed(2)}x InfluxDB`,
        met: best.perReading.total <= 1.37 ? 'yes' : 'no',
      };
    });
}

export function queryChecks(thisRun: QueryBenchResult | null): Check[] {
  const r = thisRun ?? latest<QueryBenchResult>('queries-latest.json');
  const label = 'hourly rollup over 100 M readings <= 3 s';
  if (!r) return [{ target: label, measured: 'not measured (--targets queries, or node --import tsx bench/queries.ts)', ratio: '-', met: '-' }];
  const from = thisRun ? 'this run' : `bench/results/queries-latest.json of ${r.finishedAt.slice(0, 10)}`;
  const out: Check[] = [];
  for (const e of r.engines) {
    for (const q of e.queries.filter((x) => x.id === 'hourly_raw' || x.id === 'hourly_rollup')) {
      for (const way of ['direct', 'api'] as const) {
        const t = q[way];
        if (!t || typeof t.medianMs !== 'number') continue;
        out.push({
          target: `${label}: ${e.engine}, ${q.source === 'raw' ? 'from raw readings' : 'from the hourly rollup'}, ${way === 'api' ? 'through the API' : 'directly'}`,
          measured: `median ${fmt(t.medianMs)} ms over ${fmt(r.layout.readings)} readings (${from}; docs/performance-queries.md)`,
          ratio: `${(t.medianMs / 3000).toFixed(2)}x of the bound`,
          met: r.layout.readings >= 100_000_000 ? (t.medianMs <= 3000 ? 'yes' : 'no') : '- (fewer than 100 M readings)',
        });
      }
    }
  }
  return out;
}
