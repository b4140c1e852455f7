/**
 * Messages between SqliteSpool (main thread) and the spool worker.
 *
 * Payload bytes cross the thread boundary packed into one ArrayBuffer that is transferred,
 * not cloned: structured clone of a Buffer copies its whole backing store, which for pooled or
 * sliced Buffers can be far larger than the payload itself.
 */

export interface ReclaimOptions {
  /** Shrink the file only once this many pages (4 KiB each) are free; below that, inserts reuse them. */
  minFreePages?: number;
  /** Pages released per incremental_vacuum step; appends run between steps. */
  stepPages?: number;
  /** Truncate the WAL after maintenance once it exceeds this size. */
  walTruncateBytes?: number;
}

export interface WorkerConfig {
  file: string;
  reclaim: Required<ReclaimOptions>;
}

/** The worker's durable state after its last completed operation; the main thread mirrors it. */
export interface StoreState {
  depthRecords: number;
  depthBytes: number;
  oldestUnwrittenAt: number | null;
  lastOffset: number;
  checkpoint: number;
  inflight: { from: number; to: number } | null;
  appendTransactions: number;
}

/** Payloads of several rows in one buffer; `lengths[i] === -1` means the row has no payload. */
export interface PackedPayloads {
  buffer: ArrayBuffer;
  lengths: number[];
}

export interface AppendBatch {
  metas: string[];
  receivedAts: number[];
  bytes: number[];
  payloads: PackedPayloads;
  /** Entries per caller, in order: the worker answers one offset range per caller. */
  counts: number[];
}

export interface RawRows {
  offsets: number[];
  metas: string[];
  payloads: PackedPayloads;
}

export type Request =
  | { id: number; op: 'append'; batch: AppendBatch }
  | { id: number; op: 'read'; after: number; max: number }
  | { id: number; op: 'commit'; offset: number; /** fault-injection tests: arm crash points in the worker too */ armCrash?: boolean }
  | { id: number; op: 'setInflight'; range: { from: number; to: number } | null }
  | { id: number; op: 'reclaim' }
  | { id: number; op: 'pragma'; pragma: string }
  | { id: number; op: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

export type Reply =
  | { type: 'opened'; state: StoreState }
  | { type: 'open-failed'; error: SerializedError }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: object; msg: string }
  | { type: 'reply'; id: number; ok: true; result: unknown; state: StoreState }
  | { type: 'reply'; id: number; ok: false; error: SerializedError; state: StoreState };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(err) };
}

export function packPayloads(payloads: (Uint8Array | null)[]): PackedPayloads {
  let total = 0;
  for (const p of payloads) if (p) total += p.length;
  const buffer = new ArrayBuffer(total);
  const target = new Uint8Array(buffer);
  const lengths: number[] = [];
  let at = 0;
  for (const p of payloads) {
    if (p === null) {
      lengths.push(-1);
      continue;
    }
    target.set(p, at);
    at += p.length;
    lengths.push(p.length);
  }
  return { buffer, lengths };
}

/** Views into the packed buffer, no copy. */
export function unpackPayloads(packed: PackedPayloads): (Buffer | null)[] {
  const out: (Buffer | null)[] = [];
  let at = 0;
  for (const len of packed.lengths) {
    if (len < 0) {
      out.push(null);
      continue;
    }
    out.push(Buffer.from(packed.buffer, at, len));
    at += len;
  }
  return out;
}
