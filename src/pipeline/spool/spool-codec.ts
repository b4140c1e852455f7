import type { QuarantineItem, Reading, SpoolEntry, SpoolRecord } from '../../core/types.js';

/**
 * SpoolEntry <-> row encoding. The payload travels as a BLOB beside the row; everything else
 * goes into a compact JSON array (`meta`). Positional arrays instead of objects because the
 * spool holds millions of rows and key names would be most of their size.
 *
 * The leading tag doubles as the format version: a future layout gets a new tag and old rows
 * stay readable.
 */
export interface EncodedEntry {
  meta: string;
  payload: Buffer | null;
  receivedAt: number;
  /** What the row counts against the spool limit: payload plus encoded metadata. */
  bytes: number;
}

type NumberCell = number | string;
type ReadingCells = [string, string, NumberCell, NumberCell, NumberCell | null];
type QuarantineCells = [string, string, string | null, string | null, NumberCell | null, string];
type MessageMeta = ['m1', string, string, string | null, NumberCell, ReadingCells[], QuarantineCells[]];
type RejectedMeta = ['r1', string, string | null, string | null, NumberCell, string, string];

// JSON has no -0, NaN or ±Infinity; they are spelled as strings so every number round-trips.
function num(n: number): NumberCell {
  if (Number.isFinite(n) && !Object.is(n, -0)) return n;
  return Object.is(n, -0) ? '-0' : String(n);
}

function unnum(c: NumberCell): number {
  return typeof c === 'string' ? Number(c) : c;
}

function numOrNull(n: number | null): NumberCell | null {
  return n === null ? null : num(n);
}

function unnumOrNull(c: NumberCell | null): number | null {
  return c === null ? null : unnum(c);
}

export function encodeEntry(entry: SpoolEntry): EncodedEntry {
  if (entry.kind === 'message') {
    const m = entry.message;
    if (!Buffer.isBuffer(m.payload)) throw new TypeError('spool entry message.payload must be a Buffer');
    const meta: MessageMeta = [
      'm1',
      m.source,
      m.topic,
      m.deviceId,
      num(m.receivedAt),
      entry.readings.map((r): ReadingCells => [r.sensorId, r.metric, num(r.ts), num(r.value), numOrNull(r.seq)]),
      entry.quarantined.map((q): QuarantineCells => [q.reason, q.detail, q.sensorId, q.metric, numOrNull(q.ts), q.payload]),
    ];
    const json = JSON.stringify(meta);
    return { meta: json, payload: m.payload, receivedAt: m.receivedAt, bytes: Buffer.byteLength(json) + m.payload.length };
  }
  if (entry.kind === 'rejected') {
    const meta: RejectedMeta = ['r1', entry.source, entry.topic, entry.deviceId, num(entry.receivedAt), entry.reason, entry.detail];
    const json = JSON.stringify(meta);
    return { meta: json, payload: null, receivedAt: entry.receivedAt, bytes: Buffer.byteLength(json) };
  }
  throw new TypeError(`unknown spool entry kind: ${String((entry as { kind?: unknown }).kind)}`);
}

export function decodeRecord(offset: number, meta: string, payload: Buffer | null): SpoolRecord {
  const cells = JSON.parse(meta) as MessageMeta | RejectedMeta;
  if (cells[0] === 'm1') {
    const [, source, topic, deviceId, receivedAt, readings, quarantined] = cells;
    return {
      kind: 'message',
      message: { source, topic, deviceId, receivedAt: unnum(receivedAt), payload: payload ?? Buffer.alloc(0) },
      readings: readings.map(
        ([sensorId, metric, ts, value, seq]): Reading => ({ sensorId, metric, ts: unnum(ts), value: unnum(value), seq: unnumOrNull(seq) }),
      ),
      quarantined: quarantined.map(
        ([reason, detail, sensorId, metric, ts, text]): QuarantineItem => ({
          reason: reason as QuarantineItem['reason'],
          detail,
          sensorId,
          metric,
          ts: unnumOrNull(ts),
          payload: text,
        }),
      ),
      offset,
    };
  }
  if (cells[0] === 'r1') {
    const [, source, topic, deviceId, receivedAt, reason, detail] = cells;
    return {
      kind: 'rejected',
      source,
      topic,
      deviceId,
      receivedAt: unnum(receivedAt),
      reason: reason as Extract<SpoolEntry, { kind: 'rejected' }>['reason'],
      detail,
      offset,
    };
  }
  throw new Error(`spool record ${offset} has an unknown format tag ${JSON.stringify(cells[0])} (written by a newer Sensorpipe?)`);
}
