/**
 * What the lake's main thread and its encoder thread (encoder-worker.ts) say to each other.
 *
 * Raw rows cross as columns (raw-columns.ts): typed arrays move without copying and the strings
 * once each, in a dictionary; cloning the row objects took longer than building the columns, and
 * appending them to DuckDB on the main thread 50-80 ms per 20,000 readings (scratch measurements,
 * 2-core VM).
 */
import type { EncodeJob, ParquetEncoding, QuarantineRow } from './parquet-encoder.js';
import type { RawColumns } from './raw-columns.js';

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
