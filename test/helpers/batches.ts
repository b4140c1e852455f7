/**
 * Small builders for spool records and sink batches, for sink tests.
 *
 *   const s = new SpoolSim();                       // offsets 1, 2, 3, …
 *   const r1 = s.message([reading('s1', 'temperature', T0, 21.5)]);
 *   const r2 = s.rejected('not_authorized');
 *   const b = batchOf([r1, r2]);                    // { fromOffset: 1, toOffset: 2, records }
 */
import type { QuarantineReason, RejectReason } from '../../src/core/reasons.js';
import type { EpochMs, QuarantineItem, Reading, SinkBatch, SpoolRecord } from '../../src/core/types.js';

/** A fixed, hour-aligned instant (2024-05-01T12:00:00Z) to build times from. */
export const T0: EpochMs = Date.UTC(2024, 4, 1, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export function reading(sensorId: string, metric: string, ts: EpochMs, value: number, seq: number | null = null): Reading {
  return { sensorId, metric, ts, value, seq };
}

export function quarantineItem(
  reason: QuarantineReason,
  over: Partial<Omit<QuarantineItem, 'reason'>> = {},
): QuarantineItem {
  return {
    reason,
    detail: over.detail ?? `test item: ${reason}`,
    sensorId: over.sensorId ?? null,
    metric: over.metric ?? null,
    ts: over.ts ?? null,
    payload: over.payload ?? `{"test":"${reason}"}`,
  };
}

export interface MessageOptions {
  source?: string;
  topic?: string;
  deviceId?: string | null;
  receivedAt?: EpochMs;
  quarantined?: QuarantineItem[];
  payload?: string;
}

export interface RejectedOptions {
  source?: string;
  topic?: string | null;
  deviceId?: string | null;
  receivedAt?: EpochMs;
  detail?: string;
}

export function messageRecord(offset: number, readings: Reading[], o: MessageOptions = {}): SpoolRecord {
  const sensor = readings[0]?.sensorId ?? o.quarantined?.[0]?.sensorId ?? 'unknown';
  return {
    kind: 'message',
    offset,
    message: {
      source: o.source ?? 'mqtt',
      topic: o.topic ?? `sensors/${sensor}/telemetry`,
      deviceId: o.deviceId === undefined ? 'dev-1' : o.deviceId,
      receivedAt: o.receivedAt ?? T0,
      payload: Buffer.from(o.payload ?? JSON.stringify(readings)),
    },
    readings,
    quarantined: o.quarantined ?? [],
  };
}

export function rejectedRecord(offset: number, reason: RejectReason, o: RejectedOptions = {}): SpoolRecord {
  return {
    kind: 'rejected',
    offset,
    source: o.source ?? 'mqtt',
    topic: o.topic === undefined ? 'sensors/x/telemetry' : o.topic,
    deviceId: o.deviceId === undefined ? 'dev-1' : o.deviceId,
    receivedAt: o.receivedAt ?? T0,
    reason,
    detail: o.detail ?? `test rejection: ${reason}`,
  };
}

/** A batch over the contiguous range its records cover. */
export function batchOf(records: SpoolRecord[]): SinkBatch {
  if (records.length === 0) throw new Error('batchOf: no records');
  const offsets = records.map((r) => r.offset);
  return { fromOffset: Math.min(...offsets), toOffset: Math.max(...offsets), records: [...records] };
}

/** Hands out consecutive spool offsets (starting at 1, like a fresh spool). */
export class SpoolSim {
  constructor(private next = 1) {}
  message(readings: Reading[], o: MessageOptions = {}): SpoolRecord {
    return messageRecord(this.next++, readings, o);
  }
  rejected(reason: RejectReason, o: RejectedOptions = {}): SpoolRecord {
    return rejectedRecord(this.next++, reason, o);
  }
}

/** Items a batch carries, per source: what `received` must equal in the accounting identity. */
export function receivedBySource(records: SpoolRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) {
    const source = r.kind === 'message' ? r.message.source : r.source;
    const n = r.kind === 'message' ? r.readings.length + r.quarantined.length : 1;
    out.set(source, (out.get(source) ?? 0) + n);
  }
  return out;
}
