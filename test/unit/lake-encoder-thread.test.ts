// The lake's encoder thread: the same files as the in-process encoder, read back by a separate
// DuckDB instance; a bad setting and a closed encoder answer with clear errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetEncoderThread } from '../../src/sinks/lake/encoder-thread.js';
import type { RawRow } from '../../src/sinks/lake/parquet-encoder.js';

const T0 = Date.UTC(2024, 2, 1, 12, 0, 0);

function row(i: number, over: Partial<RawRow> = {}): RawRow {
  return { sensorId: `s-${i % 3}`, metric: i % 2 ? 'humidity' : 'temperature', ts: T0 + i * 1000, value: i + 0.25, seq: i, receivedAt: T0 + i * 1000 + 7, source: 'mqtt', topic: `t/${i}`, deviceId: i % 4 ? `d-${i}` : null, offset: 100 + i, ...over };
}

test('raw rows written on the encoder thread read back exactly (nulls, fractions of a millisecond, one file per job, sorted)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enc-thread-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const enc = await ParquetEncoderThread.create({ zstdLevel: 3 });
  t.after(() => enc.close());
  const a = Array.from({ length: 50 }, (_, i) => row(i));
  a[7] = row(7, { seq: null, ts: T0 + 7000.5 });
  const b = [row(1000, { sensorId: 'other' })];
  await enc.writeRaw([
    { path: join(dir, 'a.parquet'), rows: a },
    { path: join(dir, 'b.parquet'), rows: b },
  ]);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.after(() => db.closeSync());
  const read = async (f: string) =>
    (await conn.runAndReadAll(`select sensor_id, metric, epoch_us(ts) us, value, seq, epoch_ms(received_at) rcv, source, topic, device_id, spool_offset from read_parquet('${join(dir, f)}')`)).getRowObjectsJson();
  const got = await read('a.parquet');
  assert.equal(got.length, 50);
  const sorted = [...a].sort((x, y) => (x.sensorId < y.sensorId ? -1 : x.sensorId > y.sensorId ? 1 : x.metric < y.metric ? -1 : x.metric > y.metric ? 1 : x.ts - y.ts));
  assert.deepEqual(
    got.map((r) => [r.sensor_id, r.metric, Number(r.us), r.value, r.seq === null ? null : Number(r.seq), Number(r.rcv), r.source, r.topic, r.device_id, Number(r.spool_offset)]),
    sorted.map((r) => [r.sensorId, r.metric, Math.round(r.ts * 1000), r.value, r.seq, r.receivedAt, r.source, r.topic, r.deviceId, r.offset]),
  );
  assert.deepEqual((await read('b.parquet')).map((r) => r.sensor_id), ['other']);
});

test('a zstd level out of range is refused when the thread starts, with the allowed range', async () => {
  await assert.rejects(ParquetEncoderThread.create({ zstdLevel: 23 }), /zstd level must be an integer 1\.\.22, got 23/);
});

test('a closed encoder refuses work and says so', async () => {
  const enc = await ParquetEncoderThread.create({ zstdLevel: 3 });
  await enc.close();
  assert.equal(enc.alive, false);
  await assert.rejects(enc.writeRaw([{ path: join(tmpdir(), 'never.parquet'), rows: [row(1)] }]), /lake encoder is closed/);
});

test('sequence numbers that are not int64 integers are stored as NULL, not a failed batch; the dictionary keeps every string exact', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enc-thread-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const enc = await ParquetEncoderThread.create({ zstdLevel: 3 });
  t.after(() => enc.close());
  const seqs = [-5, 1.5, 2 ** 63, -(2 ** 63), 2 ** 53, 0];
  const odd = ["it's", 'ü-sensor ✓', '', 'a\u0000b'];
  const rows = seqs.map((seq, i) => row(i, { seq, sensorId: odd[i % odd.length], topic: odd[(i + 1) % odd.length], deviceId: odd[(i + 2) % odd.length] }));
  await enc.writeRaw([{ path: join(dir, 's.parquet'), rows }]);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.after(() => db.closeSync());
  const got = (await conn.runAndReadAll(`select spool_offset, seq, sensor_id, topic, device_id from read_parquet('${join(dir, 's.parquet')}') order by spool_offset`)).getRowObjectsJson();
  assert.deepEqual(
    got.map((r) => [Number(r.spool_offset), r.seq === null ? null : String(r.seq), r.sensor_id, r.topic, r.device_id]),
    rows.map((r, i) => [r.offset, [String(-5), null, null, null, String(2 ** 53), '0'][i], r.sensorId, r.topic, r.deviceId]),
  );
});
