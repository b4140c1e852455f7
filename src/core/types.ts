import type { QuarantineReason, RejectReason } from './reasons.js';

/** Milliseconds since the Unix epoch, UTC. */
export type EpochMs = number;

/** What a device sent, as received. Identity comes from the connection, never from the payload. */
export interface Message {
  /** Which source took it in: `mqtt`, `http`, … (a low-cardinality label). */
  source: string;
  topic: string;
  /** Authenticated device id, or null for anonymous (demo) devices and admin HTTP callers. */
  deviceId: string | null;
  /** Server clock when the message arrived. */
  receivedAt: EpochMs;
  payload: Buffer;
}

/** One measured value, narrow format. */
export interface Reading {
  sensorId: string;
  metric: string;
  ts: EpochMs;
  value: number;
  /** Device sequence number when the payload carried one. */
  seq: number | null;
}

/** Something that did not pass validation, kept (never deleted) with its reason. */
export interface QuarantineItem {
  reason: QuarantineReason;
  /** Human text for the operator: what was wrong, with the offending value. */
  detail: string;
  sensorId: string | null;
  metric: string | null;
  ts: EpochMs | null;
  /** The offending part of the payload as text (the whole payload when nothing could be decoded), capped. */
  payload: string;
}

/** The result of decoding and validating one message: bad data is a value, not an exception. */
export interface Validated {
  readings: Reading[];
  quarantined: QuarantineItem[];
}

/** What goes into the durable spool. */
export type SpoolEntry =
  | { kind: 'message'; message: Message; readings: Reading[]; quarantined: QuarantineItem[] }
  | {
      kind: 'rejected';
      source: string;
      topic: string | null;
      deviceId: string | null;
      receivedAt: EpochMs;
      reason: RejectReason;
      detail: string;
    };

/** A spool entry with the offset the spool gave it (strictly increasing, never reused). */
export type SpoolRecord = SpoolEntry & { offset: number };

export interface SpoolStats {
  /** Records appended but not yet committed by every sink. */
  depthRecords: number;
  depthBytes: number;
  /** receivedAt of the oldest record not yet committed, or null when empty. */
  oldestUnwrittenAt: EpochMs | null;
  lastOffset: number;
  checkpoint: number;
  limitBytes: number;
}

/** Thrown by Spool.append when the spool is at its size limit. Callers must not acknowledge. */
export class SpoolFullError extends Error {
  readonly code = 'spool_full';
  constructor(public readonly depthBytes: number, public readonly limitBytes: number) {
    super(
      `spool is full (${depthBytes} of ${limitBytes} bytes): a sink is not keeping up or is down; ` +
        `Sensorpipe stops acknowledging until writers catch up (raise spool.maxBytes or fix the sink)`,
    );
  }
}

/**
 * The durable spool between sources and writers (DESIGN §2, delivery contract).
 *
 * - `append` resolves only after the entries are fsync'd; only then may a source acknowledge.
 *   Concurrent calls are group-committed. It rejects with SpoolFullError at the size limit
 *   (caller answers "retry later", never acks) and with any other error on a disk fault
 *   (caller must not ack; the process keeps running).
 * - `read` returns records with offset > `after`, in offset order, at most `max` of them.
 * - `commit(offset)` is called once every sink has durably written all records <= offset;
 *   their space may then be reclaimed. Records above the checkpoint are replayed after a restart.
 * - `setInflight`/`inflight` record the range a writer is about to hand to sinks, so that a replay
 *   after a crash re-reads exactly that range first and deterministic file names line up.
 */
export interface Spool {
  append(entries: SpoolEntry[]): Promise<{ firstOffset: number; lastOffset: number }>;
  read(after: number, max: number): Promise<SpoolRecord[]>;
  commit(offset: number): Promise<void>;
  checkpoint(): Promise<number>;
  setInflight(range: { from: number; to: number } | null): Promise<void>;
  inflight(): Promise<{ from: number; to: number } | null>;
  stats(): Promise<SpoolStats>;
  close(): Promise<void>;
}

/** A batch handed to sinks: the records of one contiguous spool range. */
export interface SinkBatch {
  fromOffset: number;
  toOffset: number;
  records: SpoolRecord[];
}

/** A reading quarantined by the warehouse (conflicting duplicate), with the record it came from. */
export interface DerivedQuarantine extends QuarantineItem {
  offset: number;
  source: string;
  topic: string;
  deviceId: string | null;
  receivedAt: EpochMs;
}

/** What the warehouse decided about a batch (the same answer when a batch is replayed). */
export interface WarehouseOutcome {
  inserted: number;
  duplicates: number;
  conflicts: DerivedQuarantine[];
}

export interface Clock {
  now(): EpochMs;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The narrow logger every component takes (pino satisfies it). */
export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child() {
    return silentLogger;
  },
};
