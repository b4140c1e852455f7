/**
 * What the lake's main thread and its encoder thread (encoder-worker.ts) say to each other.
 *
 * Raw rows cross as columns: typed arrays move without copying and a few string arrays clone
 * natively, about 10 ms for 20,000 readings, where cloning the row objects took twice that and
 * appending them to DuckDB on the main thread 50-80 ms (scratch measurements, 2-core VM).
 */
import type { EncodeJob, ParquetEncoding, QuarantineRow, RawRow } from './parquet-encoder.js';

export interface RawColumns {
  sensorId: string[];
  metric: string[];
  ts: Float64Array;
  value: Float64Array;
  seq: (number | null)[];
  receivedAt: Float64Array;
  source: string[];
  topic: string[];
  deviceId: (string | null)[];
  offset: Float64Array;
}

export type EncoderRequest =
  | { id: number; op: 'raw'; jobs: { path: string; columns: RawColumns }[] }
  | { id: number; op: 'quarantine'; jobs: EncodeJob<QuarantineRow>[] };

export type EncoderReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'reply'; id: number; ok: true }
  | { type: 'reply'; id: number; ok: false; message: string; stack?: string };

export interface EncoderWorkerData {
  encoding: ParquetEncoding;
}

export function toColumns(rows: RawRow[]): RawColumns {
  const n = rows.length;
  const c: RawColumns = {
    sensorId: new Array<string>(n),
    metric: new Array<string>(n),
    ts: new Float64Array(n),
    value: new Float64Array(n),
    seq: new Array<number | null>(n),
    receivedAt: new Float64Array(n),
    source: new Array<string>(n),
    topic: new Array<string>(n),
    deviceId: new Array<string | null>(n),
    offset: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    c.sensorId[i] = r.sensorId;
    c.metric[i] = r.metric;
    c.ts[i] = r.ts;
    c.value[i] = r.value;
    c.seq[i] = r.seq;
    c.receivedAt[i] = r.receivedAt;
    c.source[i] = r.source;
    c.topic[i] = r.topic;
    c.deviceId[i] = r.deviceId;
    c.offset[i] = r.offset;
  }
  return c;
}

export function fromColumns(c: RawColumns): RawRow[] {
  const rows = new Array<RawRow>(c.ts.length);
  for (let i = 0; i < rows.length; i++) {
    rows[i] = {
      sensorId: c.sensorId[i],
      metric: c.metric[i],
      ts: c.ts[i],
      value: c.value[i],
      seq: c.seq[i],
      receivedAt: c.receivedAt[i],
      source: c.source[i],
      topic: c.topic[i],
      deviceId: c.deviceId[i],
      offset: c.offset[i],
    };
  }
  return rows;
}

/** The typed arrays of the jobs, to transfer instead of copy. */
export function transferList(jobs: { columns: RawColumns }[]): ArrayBuffer[] {
  return jobs.flatMap(({ columns: c }) => [c.ts, c.value, c.receivedAt, c.offset].map((a) => a.buffer as ArrayBuffer));
}
