// How the writer cuts the spool into sink batches: at batchMaxRecords records and at
// batchMaxReadings readings (an HTTP bulk request is one record of thousands of readings), every
// record exactly once and in order. Real SQLite spool; the sinks only record what they are given.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Lake, Warehouse } from '../../src/core/sinks.js';
import { silentLogger, type SinkBatch, type SpoolEntry } from '../../src/core/types.js';
import { SqliteSpool } from '../../src/pipeline/spool/sqlite-spool.js';
import { Writer } from '../../src/pipeline/writer.js';
import { T0, reading } from '../helpers/batches.js';

function entry(readings: number, i: number): SpoolEntry {
  return {
    kind: 'message',
    message: { source: 'http', topic: 'http:/v1/ingest', deviceId: null, receivedAt: T0, payload: Buffer.from(`request ${i}`) },
    readings: Array.from({ length: readings }, (_, k) => reading(`s-${i}`, 'temperature', T0 + k * 1000, k)),
    quarantined: [],
  };
}

async function batchesFor(sizes: number[], opts: { batchMaxRecords: number; batchMaxReadings: number }): Promise<{ sizes: number[][]; offsets: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'writer-batches-'));
  const spool = await SqliteSpool.open({ dir, maxBytes: 1 << 30 });
  try {
    for (let i = 0; i < sizes.length; i++) await spool.append([entry(sizes[i], i)]);
    const seen: SinkBatch[] = [];
    const warehouse = { writeBatch: async (b: SinkBatch) => (seen.push(b), { inserted: 0, duplicates: 0, conflicts: [] }) } as unknown as Warehouse;
    const lake = { writeBatch: async (_b: SinkBatch, c: unknown) => (await c, { files: [] }) } as unknown as Lake;
    const writer = new Writer({ spool, warehouse, lake, clock: { now: () => T0 }, logger: silentLogger }, { ...opts, flushIntervalMs: 10 });
    await writer.drain();
    return { sizes: seen.map((b) => b.records.map((r) => (r.kind === 'message' ? r.readings.length : 0))), offsets: seen.flatMap((b) => b.records.map((r) => r.offset)) };
  } finally {
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('bulk records: no batch holds more than batchMaxReadings readings, except a single record that alone exceeds it', async () => {
  const sizes = [20_000, 20_000, 20_000, 60_000, 4, 4, 4, 20_000];
  const got = await batchesFor(sizes, { batchMaxRecords: 5000, batchMaxReadings: 50_000 });
  for (const b of got.sizes) {
    const total = b.reduce((a, n) => a + n, 0);
    assert.ok(total <= 50_000 || b.length === 1, `a batch of ${b.length} records holds ${total} readings`);
  }
  assert.deepEqual(got.sizes.flat(), sizes, 'every record once, in spool order');
  assert.deepEqual(got.offsets, [...got.offsets].sort((a, b) => a - b));
  assert.deepEqual(got.sizes[0], [20_000, 20_000], 'the first batch stops before the third bulk record');
});

test('small messages: batches of batchMaxRecords records, as before', async () => {
  const sizes = Array.from({ length: 25 }, () => 4);
  const got = await batchesFor(sizes, { batchMaxRecords: 10, batchMaxReadings: 50_000 });
  assert.deepEqual(got.sizes.map((b) => b.length), [10, 10, 5]);
});
