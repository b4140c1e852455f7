/**
 * Engine-neutral parts of `Warehouse.writeBatch`: which records are new, the order that decides
 * "first wins", what a conflict looks like, and the accounting deltas. DuckDB and PostgreSQL
 * implementations share it so they answer identically.
 */
import type { AccountingRow } from '../../core/sinks.js';
import type { DerivedQuarantine, EpochMs, Reading, SpoolRecord, WarehouseOutcome } from '../../core/types.js';

export type MessageRecord = Extract<SpoolRecord, { kind: 'message' }>;
export type RejectedRecord = Extract<SpoolRecord, { kind: 'rejected' }>;

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour containing `ms`. */
export function hourOf(ms: EpochMs): EpochMs {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/**
 * Times are stored with microsecond precision. Conflicts built while writing are normalized the
 * same way, so that a replay (which reads them back) answers with identical numbers.
 */
export function storedMs(ms: EpochMs): EpochMs {
  return Math.round(ms * 1000) / 1000;
}

/** One reading of a batch. `ord` is its position in spool order: of two readings for the same key, the lower `ord` came first. */
export interface PlannedReading {
  ord: number;
  record: MessageRecord;
  reading: Reading;
}

export interface BatchPlan {
  /** Records above the high-water mark, in offset order. */
  records: SpoolRecord[];
  readings: PlannedReading[];
  messages: MessageRecord[];
  rejected: RejectedRecord[];
}

export function planBatch(records: SpoolRecord[], committed: number): BatchPlan {
  const fresh = records.filter((r) => r.offset > committed).sort((a, b) => a.offset - b.offset);
  const readings: PlannedReading[] = [];
  const messages: MessageRecord[] = [];
  const rejected: RejectedRecord[] = [];
  for (const r of fresh) {
    if (r.kind === 'message') {
      messages.push(r);
      for (const reading of r.readings) readings.push({ ord: readings.length, record: r, reading });
    } else {
      rejected.push(r);
    }
  }
  return { records: fresh, readings, messages, rejected };
}

/**
 * The time ranges a batch's readings fall in, for looking up stored rows: clusters of
 * timestamps separated by more than `gapMs`, at most `maxRanges` of them (the closest clusters
 * are merged first). A batch of current readings plus one very late reading thus probes two
 * narrow ranges instead of everything in between.
 */
export function tsRanges(ts: EpochMs[], gapMs = HOUR_MS, maxRanges = 8): [EpochMs, EpochMs][] {
  if (ts.length === 0) return [];
  const sorted = [...ts].sort((a, b) => a - b);
  const ranges: [EpochMs, EpochMs][] = [[sorted[0], sorted[0]]];
  for (const t of sorted) {
    const last = ranges[ranges.length - 1];
    if (t - last[1] > gapMs) ranges.push([t, t]);
    else last[1] = t;
  }
  while (ranges.length > maxRanges) {
    let best = 1;
    for (let i = 2; i < ranges.length; i++) {
      if (ranges[i][0] - ranges[i - 1][1] < ranges[best][0] - ranges[best - 1][1]) best = i;
    }
    ranges[best - 1][1] = ranges[best][1];
    ranges.splice(best, 1);
  }
  return ranges;
}

/** Readings (items) carried by the records at or below `committed`: a replay recomputes duplicates from it. */
export function readingsAtOrBelow(records: SpoolRecord[], committed: number): number {
  let n = 0;
  for (const r of records) if (r.offset <= committed && r.kind === 'message') n += r.readings.length;
  return n;
}

/** What the engine decided about a reading it did not insert. `keptValue` is the value that stays stored. */
export interface Verdict {
  ord: number;
  duplicate: boolean;
  keptValue: number;
}

export function conflictDetail(reading: Reading, keptValue: number): string {
  return (
    `${reading.sensorId}/${reading.metric} at ${new Date(reading.ts).toISOString()}: ` +
    `value ${reading.value} conflicts with value ${keptValue} stored first; the first value is kept`
  );
}

export function conflictFor(p: PlannedReading, keptValue: number): DerivedQuarantine {
  const m = p.record.message;
  return {
    reason: 'conflicting_duplicate',
    detail: conflictDetail(p.reading, keptValue),
    sensorId: p.reading.sensorId,
    metric: p.reading.metric,
    ts: storedMs(p.reading.ts),
    payload: JSON.stringify(p.reading),
    offset: p.record.offset,
    source: m.source,
    topic: m.topic,
    deviceId: m.deviceId,
    receivedAt: storedMs(m.receivedAt),
  };
}

/** The one order of `WarehouseOutcome.conflicts`, for first answers and replays alike. */
export function compareConflicts(a: DerivedQuarantine, b: DerivedQuarantine): number {
  return (
    a.offset - b.offset ||
    cmp(a.sensorId ?? '', b.sensorId ?? '') ||
    cmp(a.metric ?? '', b.metric ?? '') ||
    (a.ts ?? 0) - (b.ts ?? 0) ||
    cmp(a.payload, b.payload) ||
    cmp(a.detail, b.detail)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function mergeOutcomes(a: WarehouseOutcome, b: WarehouseOutcome): WarehouseOutcome {
  return {
    inserted: a.inserted + b.inserted,
    duplicates: a.duplicates + b.duplicates,
    conflicts: [...a.conflicts, ...b.conflicts].sort(compareConflicts),
  };
}

export interface CountDelta {
  hour: EpochMs;
  source: string;
  outcome: AccountingRow['outcome'];
  reason: string;
  items: number;
}

/**
 * Accounting deltas of the fresh part of a batch, per hour of `receivedAt`:
 * every reading is accepted (inserted or duplicate; duplicates are also counted under
 * `duplicate`) or quarantined as `conflicting_duplicate`; every validation quarantine item is
 * quarantined by its reason; every rejected record is one rejected item.
 */
export function countDeltas(plan: BatchPlan, verdicts: Map<number, Verdict>): CountDelta[] {
  const acc = new Map<string, CountDelta>();
  const add = (at: EpochMs, source: string, outcome: CountDelta['outcome'], reason: string, n = 1) => {
    if (n === 0) return;
    const hour = hourOf(at);
    const key = `${hour}\u0000${source}\u0000${outcome}\u0000${reason}`;
    const d = acc.get(key);
    if (d) d.items += n;
    else acc.set(key, { hour, source, outcome, reason, items: n });
  };
  for (const p of plan.readings) {
    const m = p.record.message;
    const v = verdicts.get(p.ord);
    if (v && !v.duplicate) {
      add(m.receivedAt, m.source, 'quarantined', 'conflicting_duplicate');
    } else {
      add(m.receivedAt, m.source, 'accepted', '');
      if (v) add(m.receivedAt, m.source, 'duplicate', '');
    }
  }
  for (const r of plan.messages) {
    for (const q of r.quarantined) add(r.message.receivedAt, r.message.source, 'quarantined', q.reason);
  }
  for (const r of plan.rejected) add(r.receivedAt, r.source, 'rejected', r.reason);
  return [...acc.values()];
}
