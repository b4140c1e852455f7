import type { AccountingRow } from '../core/sinks.js';
import { QUARANTINE_REASONS, REJECT_REASONS } from '../core/reasons.js';

export interface AccountingTotals {
  received: number;
  accepted: number;
  quarantined: number;
  rejected: number;
  /** Exact repeats, stored once: a subset of `accepted`. */
  duplicates: number;
}

export interface AccountingReport {
  totals: AccountingTotals;
  /** received = accepted + quarantined + rejected holds for the totals and every source, and the rows are consistent (see `problems`). */
  balanced: boolean;
  bySource: ({ source: string } & AccountingTotals)[];
  /** Quarantined and rejected items by source and reason code. */
  byReason: { source: string; outcome: 'quarantined' | 'rejected'; reason: string; items: number }[];
  /** Why the report is not balanced; empty when it is. */
  problems: string[];
}

const zero = (): AccountingTotals => ({ received: 0, accepted: 0, quarantined: 0, rejected: 0, duplicates: 0 });

/**
 * Builds the accounting identity from the warehouse's `ingest_counts` sums. `received` is the sum of
 * the three outcomes; `balanced` checks what can go wrong in the stored rows: an outcome or reason
 * outside the catalogue, a reason under the wrong outcome, more duplicates than accepted items, a
 * negative count.
 */
export function accountingReport(rows: AccountingRow[]): AccountingReport {
  const problems: string[] = [];
  const sources = new Map<string, AccountingTotals>();
  const byReason: AccountingReport['byReason'] = [];
  for (const r of rows) {
    const t = sources.get(r.source) ?? zero();
    sources.set(r.source, t);
    if (!(r.items >= 0)) problems.push(`${r.source}/${r.outcome}/${r.reason}: negative or missing count ${r.items}`);
    switch (r.outcome) {
      case 'accepted':
        t.accepted += r.items;
        break;
      case 'duplicate':
        t.duplicates += r.items;
        break;
      case 'quarantined':
        t.quarantined += r.items;
        if (!Object.hasOwn(QUARANTINE_REASONS, r.reason)) problems.push(`${r.source}: quarantined items with reason "${r.reason}", which is not a quarantine reason code`);
        byReason.push({ source: r.source, outcome: 'quarantined', reason: r.reason, items: r.items });
        break;
      case 'rejected':
        t.rejected += r.items;
        if (!Object.hasOwn(REJECT_REASONS, r.reason)) problems.push(`${r.source}: rejected items with reason "${r.reason}", which is not a reject reason code`);
        byReason.push({ source: r.source, outcome: 'rejected', reason: r.reason, items: r.items });
        break;
      default:
        problems.push(`${r.source}: ${r.items} items with unknown outcome "${String(r.outcome)}"`);
    }
  }
  const totals = zero();
  const bySource = [...sources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([source, t]) => {
    t.received = t.accepted + t.quarantined + t.rejected;
    if (t.duplicates > t.accepted) problems.push(`${source}: ${t.duplicates} duplicates but only ${t.accepted} accepted items (duplicates are a subset of accepted)`);
    for (const k of Object.keys(totals) as (keyof AccountingTotals)[]) totals[k] += t[k];
    return { source, ...t };
  });
  return { totals, balanced: problems.length === 0, bySource, byReason, problems };
}
