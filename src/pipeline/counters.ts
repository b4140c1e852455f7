import type { Validated } from '../core/types.js';

/**
 * In-memory counters since process start, for `status` and logs. The durable accounting lives in
 * the warehouse (ingest_counts); these are the live view, including refusals that could not be spooled.
 */
export class Counters {
  readonly bySourceOutcomeReason = new Map<string, number>();
  /** Refusals the spool could not record (full or failing): in no durable count. */
  readonly notRecordedBySourceReason = new Map<string, number>();
  messages = 0;

  received(source: string, v: Validated): void {
    this.messages++;
    if (v.readings.length) this.add(source, 'validated', '', v.readings.length);
    for (const q of v.quarantined) this.add(source, 'quarantined', q.reason, 1);
  }

  rejected(source: string, reason: string): void {
    this.add(source, 'rejected', reason, 1);
  }

  /** A refusal (already counted by `rejected`) that the spool could not record durably. */
  rejectedNotRecorded(source: string, reason: string): void {
    const key = `${source}|${reason}`;
    this.notRecordedBySourceReason.set(key, (this.notRecordedBySourceReason.get(key) ?? 0) + 1);
  }

  notRecordedSnapshot(): { source: string; reason: string; items: number }[] {
    return [...this.notRecordedBySourceReason].map(([k, items]) => {
      const [source, reason] = k.split('|');
      return { source, reason, items };
    });
  }

  private add(source: string, outcome: string, reason: string, n: number): void {
    const key = `${source}|${outcome}|${reason}`;
    this.bySourceOutcomeReason.set(key, (this.bySourceOutcomeReason.get(key) ?? 0) + n);
  }

  snapshot(): { source: string; outcome: string; reason: string; items: number }[] {
    return [...this.bySourceOutcomeReason].map(([k, items]) => {
      const [source, outcome, reason] = k.split('|');
      return { source, outcome, reason, items };
    });
  }
}
