/**
 * A batch's raw rows as columns. Strings are dictionary codes into one per-call dictionary
 * (`texts`): sensor ids, metrics, sources, topics and device ids repeat across thousands of rows,
 * and handing DuckDB one string per row was most of the encoder's cost. Numbers are float64
 * arrays, so the columns cross to the encoder thread without copying and fill DuckDB vectors
 * without a native call per value (timestamps as whole microseconds: exact below 2^53 µs, about
 * the year 2255; sequence numbers NaN when absent or not an int64).
 */
import { Dictionary } from '../duckdb-columns.js';
import type { RawRow } from './parquet-encoder.js';

export interface RawColumns {
  /** Dictionary: code i is texts[i]. */
  texts: string[];
  sensorId: Int32Array;
  metric: Int32Array;
  source: Int32Array;
  topic: Int32Array;
  /** -1: no device. */
  deviceId: Int32Array;
  tsMicros: Float64Array;
  value: Float64Array;
  /** NaN: NULL. */
  seq: Float64Array;
  receivedMicros: Float64Array;
  offset: Float64Array;
}

const INT64_LIMIT = 2 ** 63;

/** Sequence numbers that are not integers within int64 are stored as NULL, never fail the batch. */
function seqCell(v: number | null): number {
  return v === null || !Number.isInteger(v) || v >= INT64_LIMIT || v <= -INT64_LIMIT ? NaN : v;
}

/** One RawColumns per group of rows, all sharing one dictionary. */
export function toColumns(groups: RawRow[][]): RawColumns[] {
  const dict = new Dictionary();
  const code = (t: string): number => dict.code(t);
  return groups.map((rows) => {
    const n = rows.length;
    const c: RawColumns = {
      texts: dict.texts,
      sensorId: new Int32Array(n),
      metric: new Int32Array(n),
      source: new Int32Array(n),
      topic: new Int32Array(n),
      deviceId: new Int32Array(n),
      tsMicros: new Float64Array(n),
      value: new Float64Array(n),
      seq: new Float64Array(n),
      receivedMicros: new Float64Array(n),
      offset: new Float64Array(n),
    };
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      c.sensorId[i] = code(r.sensorId);
      c.metric[i] = code(r.metric);
      c.source[i] = code(r.source);
      c.topic[i] = code(r.topic);
      c.deviceId[i] = r.deviceId === null ? -1 : code(r.deviceId);
      c.tsMicros[i] = Math.round(r.ts * 1000);
      c.value[i] = r.value;
      c.seq[i] = seqCell(r.seq);
      c.receivedMicros[i] = Math.round(r.receivedAt * 1000);
      c.offset[i] = r.offset;
    }
    return c;
  });
}

/** The typed arrays, to transfer to the encoder thread instead of copying. */
export function columnBuffers(c: RawColumns): ArrayBuffer[] {
  return [c.sensorId, c.metric, c.source, c.topic, c.deviceId, c.tsMicros, c.value, c.seq, c.receivedMicros, c.offset].map((a) => a.buffer as ArrayBuffer);
}
