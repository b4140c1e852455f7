/**
 * The contract every Lake implementation passes (file system: lake-fs.test.ts; Azure Blob on
 * Azurite: lake-azure.test.ts): run it with `runLakeContract(name, factory)` from a `*.test.ts` file.
 *
 * The harness reads the lake back with a reader of its choice and normalizes every row to:
 *   - the file's columns by name (raw: sensor_id, metric, ts, value, seq, received_at, source, topic,
 *     device_id, spool_offset; quarantine: received_at, source, topic, device_id, sensor_id, metric,
 *     ts, reason, detail, payload, spool_offset), read from the file itself, not from the path;
 *   - timestamps as epoch milliseconds (number, fractions for microseconds), BIGINTs as numbers,
 *     NULL as null;
 *   - `_file`: the file's path relative to the lake root (`raw/date=…/part-….parquet`);
 *   - files in path order, rows in the order stored in the file.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Lake } from '../../src/core/sinks.js';
import type { DerivedQuarantine, SinkBatch } from '../../src/core/types.js';
import { hiveValue } from '../../src/sinks/lake/layout.js';
import { batchOf, message, reading, rejected } from '../helpers/lake-batches.js';

export type LakeKind = 'raw' | 'quarantine';

export interface LakeHarness {
  lake: Lake;
  partitioning: 'date' | 'date_sensor';
  readAll(kind: LakeKind): Promise<Record<string, unknown>[]>;
  /** Every file or object under the lake root, temporaries included (relative paths, sorted). */
  listFiles(): Promise<string[]>;
  /** Closes nothing; opens another Lake on the same storage (the suite closes the first one before). */
  reopen(): Promise<Lake>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2024, 2, 1, 12, 0, 0); // 2024-03-01 12:00 UTC
const MIN = 60_000;

/** A mixed batch: several sensors and metrics, out of order, a duplicate, quarantined items, a rejected record. */
function mixedBatch(from: number): SinkBatch {
  return batchOf([
    message(from, {
      receivedAt: T0 + 2 * MIN + 250,
      deviceId: 'dev-b',
      readings: [reading('sensor-b', 'temperature', T0 + MIN, -3.25, 7), reading('sensor-b', 'humidity', T0 + MIN, 41.5, 7)],
    }),
    message(from + 1, {
      receivedAt: T0 + 2 * MIN + 500.5,
      deviceId: null,
      source: 'http',
      readings: [reading('sensor-a', 'temperature', T0 + MIN + 0.125, 21.123456789, null), reading('sensor-a', 'temperature', T0, 1e300, 2 ** 53 - 1)],
      quarantined: [
        { reason: 'out_of_range', detail: 'humidity 140 above max 100', sensorId: 'sensor-a', metric: 'humidity', ts: T0, payload: '{"humidity":140}' },
        { reason: 'schema', detail: 'no readings in payload', sensorId: null, metric: null, ts: null, payload: '{"x":[]}' },
      ],
    }),
    rejected(from + 2, T0 + 2 * MIN),
    message(from + 3, {
      receivedAt: T0 + 3 * MIN,
      deviceId: 'dev-b',
      readings: [reading('sensor-b', 'temperature', T0, 0, 6), reading('sensor-b', 'temperature', T0, 0, 6)],
    }),
  ]);
}

function conflictFor(batch: SinkBatch): DerivedQuarantine {
  return {
    reason: 'conflicting_duplicate',
    detail: 'sensor-b temperature at 2024-03-01T12:00:00Z already stored with 0, got 5',
    sensorId: 'sensor-b',
    metric: 'temperature',
    ts: T0,
    payload: '{"temperature":5}',
    offset: batch.fromOffset + 3,
    source: 'mqtt',
    topic: 'sensors/sensor-b/telemetry',
    deviceId: 'dev-b',
    receivedAt: T0 + 3 * MIN,
  };
}

/** The raw rows a batch must produce (every reading of every message record), without `_file`. */
function expectedRaw(batch: SinkBatch): Record<string, unknown>[] {
  return batch.records.flatMap((rec) =>
    rec.kind !== 'message'
      ? []
      : rec.readings.map((r) => ({
          sensor_id: r.sensorId,
          metric: r.metric,
          ts: r.ts,
          value: r.value,
          seq: r.seq,
          received_at: rec.message.receivedAt,
          source: rec.message.source,
          topic: rec.message.topic,
          device_id: rec.message.deviceId,
          spool_offset: rec.offset,
        })),
  );
}

function expectedQuarantine(batch: SinkBatch, conflicts: DerivedQuarantine[]): Record<string, unknown>[] {
  const row = (q: DerivedQuarantine) => ({
    received_at: q.receivedAt,
    source: q.source,
    topic: q.topic,
    device_id: q.deviceId,
    sensor_id: q.sensorId,
    metric: q.metric,
    ts: q.ts,
    reason: q.reason,
    detail: q.detail,
    payload: q.payload,
    spool_offset: q.offset,
  });
  const items = batch.records.flatMap((rec) =>
    rec.kind !== 'message'
      ? []
      : rec.quarantined.map((q) => row({ ...q, offset: rec.offset, source: rec.message.source, topic: rec.message.topic, deviceId: rec.message.deviceId, receivedAt: rec.message.receivedAt })),
  );
  return [...items, ...conflicts.map(row)];
}

const withoutFile = (rows: Record<string, unknown>[]) => rows.map(({ _file, ...rest }) => rest);
const key = (r: Record<string, unknown>) => JSON.stringify(r, Object.keys(r).sort());
const sortRows = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

function assertSameRows(actual: Record<string, unknown>[], expected: Record<string, unknown>[]): void {
  assert.deepStrictEqual(sortRows(withoutFile(actual)), sortRows(expected));
}

const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const partName = (from: number) => `part-${String(from).padStart(16, '0')}.parquet`;
const cmp = (a: unknown, b: unknown) => ((a as string | number) < (b as string | number) ? -1 : (a as string | number) > (b as string | number) ? 1 : 0);

export function runLakeContract(name: string, factory: () => Promise<LakeHarness>): void {
  describe(`Lake contract: ${name}`, () => {
    async function withLake(fn: (h: LakeHarness) => Promise<void>): Promise<void> {
      const h = await factory();
      try {
        await fn(h);
      } finally {
        await h.lake.close().catch(() => undefined);
        await h.cleanup();
      }
    }

    test('raw holds every accepted reading of every message, values and timestamps exact, duplicates kept', () =>
      withLake(async (h) => {
        const batch = mixedBatch(1);
        const { files } = await h.lake.writeBatch(batch, []);
        const raw = await h.readAll('raw');
        assertSameRows(raw, expectedRaw(batch));
        assert.equal(raw.filter((r) => r.sensor_id === 'sensor-b' && r.ts === T0 && r.value === 0).length, 2, 'a repeated reading is kept twice in raw');
        const parquet = (await h.listFiles()).filter((f) => f.endsWith('.parquet'));
        assert.deepStrictEqual([...files].sort(), parquet, 'writeBatch reports exactly the files it published');
      }));

    test('each file is sorted by (sensor_id, metric, ts)', () =>
      withLake(async (h) => {
        await h.lake.writeBatch(mixedBatch(1), []);
        const byFile = new Map<string, Record<string, unknown>[]>();
        for (const r of await h.readAll('raw')) byFile.set(r._file as string, [...(byFile.get(r._file as string) ?? []), r]);
        assert.ok(byFile.size > 0);
        for (const [file, rows] of byFile) {
          for (let i = 1; i < rows.length; i++) {
            const a = rows[i - 1];
            const b = rows[i];
            const order = cmp(a.sensor_id, b.sensor_id) || cmp(a.metric, b.metric) || cmp(a.ts, b.ts);
            assert.ok(order <= 0, `${file}: row ${i} (${key(b)}) sorts before row ${i - 1} (${key(a)})`);
          }
        }
      }));

    test('raw partitions by the reading date (UTC), plus sensor_id when partitioned by sensor', () =>
      withLake(async (h) => {
        const batch = mixedBatch(40);
        await h.lake.writeBatch(batch, []);
        const raw = await h.readAll('raw');
        for (const r of raw) {
          const dir = h.partitioning === 'date_sensor' ? `raw/date=${utcDate(r.ts as number)}/sensor_id=${hiveValue(r.sensor_id as string)}` : `raw/date=${utcDate(r.ts as number)}`;
          assert.equal(r._file, `${dir}/${partName(40)}`);
        }
        const expectedFiles = h.partitioning === 'date_sensor' ? 2 : 1;
        assert.equal(new Set(raw.map((r) => r._file)).size, expectedFiles);
      }));

    test('a batch across two dates makes two partitions', () =>
      withLake(async (h) => {
        const midnight = Date.UTC(2024, 2, 2);
        const batch = batchOf([
          message(5, { receivedAt: midnight + 1000, readings: [reading('s-1', 'temperature', midnight - 1, 20.5), reading('s-1', 'temperature', midnight, 20.6)] }),
        ]);
        const { files } = await h.lake.writeBatch(batch, []);
        const suffix = h.partitioning === 'date_sensor' ? '/sensor_id=s-1' : '';
        assert.deepStrictEqual([...files].sort(), [`raw/date=2024-03-01${suffix}/${partName(5)}`, `raw/date=2024-03-02${suffix}/${partName(5)}`]);
        const raw = await h.readAll('raw');
        assert.deepStrictEqual(raw.map((r) => [r._file, r.ts]), [
          [`raw/date=2024-03-01${suffix}/${partName(5)}`, midnight - 1],
          [`raw/date=2024-03-02${suffix}/${partName(5)}`, midnight],
        ]);
      }));

    test('quarantined items and conflicts land in quarantine/date=<received_at date>/reason=<code>', () =>
      withLake(async (h) => {
        const batch = mixedBatch(1);
        // received on the next day: the partition follows received_at, not ts
        const late = batchOf([
          message(9, {
            receivedAt: Date.UTC(2024, 2, 2, 0, 0, 5),
            quarantined: [{ reason: 'bad_timestamp', detail: 'no zone', sensorId: 's-9', metric: 'temperature', ts: null, payload: '{"ts":"2024-03-01 23:59"}' }],
          }),
        ]);
        const conflict = conflictFor(batch);
        await h.lake.writeBatch(batch, [conflict]);
        await h.lake.writeBatch(late, []);
        const rows = await h.readAll('quarantine');
        assertSameRows(rows, [...expectedQuarantine(batch, [conflict]), ...expectedQuarantine(late, [])]);
        for (const r of rows) {
          assert.match(r._file as string, new RegExp(`^quarantine/date=${utcDate(r.received_at as number)}/reason=${r.reason}/part-\\d{16}\\.parquet$`));
        }
        const conflicts = rows.filter((r) => (r._file as string).includes('/reason=conflicting_duplicate/'));
        assert.deepStrictEqual(withoutFile(conflicts), expectedQuarantine(batch, [conflict]).filter((r) => r.reason === 'conflicting_duplicate'));
        assert.equal(rows.find((r) => r.reason === 'bad_timestamp')?._file, `quarantine/date=2024-03-02/reason=bad_timestamp/${partName(9)}`);
      }));

    test('rejected records write nothing, but the high-water mark still advances', () =>
      withLake(async (h) => {
        const { files } = await h.lake.writeBatch(batchOf([rejected(3, T0), rejected(4, T0)]), []);
        assert.deepStrictEqual(files, []);
        assert.deepStrictEqual((await h.listFiles()).filter((f) => f.endsWith('.parquet')), []);
        assert.equal(await h.lake.committedOffset(), 4);
      }));

    test('a failed warehouse verdict publishes nothing and the retry writes the batch', () =>
      withLake(async (h) => {
        const batch = mixedBatch(200);
        const conflict = conflictFor(batch);
        let fail!: (err: Error) => void;
        // The raw files do not depend on the verdict and may be encoded meanwhile, but any file
        // published before the verdict would still be there after the failure.
        const failing = h.lake.writeBatch(batch, new Promise<DerivedQuarantine[]>((_, reject) => (fail = reject)));
        fail(new Error('warehouse is down'));
        await assert.rejects(failing, /warehouse is down/);
        assert.deepStrictEqual((await h.listFiles()).filter((f) => f.endsWith('.parquet')), [], 'no file after a failed verdict');
        assert.deepStrictEqual((await h.listFiles()).filter((f) => f.split('/').pop()!.startsWith('.tmp-')), [], 'no temporary file left');

        let succeed!: (c: DerivedQuarantine[]) => void;
        const retry = h.lake.writeBatch(batch, new Promise<DerivedQuarantine[]>((resolve) => (succeed = resolve)));
        succeed([conflict]);
        await retry;
        assertSameRows(await h.readAll('raw'), expectedRaw(batch));
        assertSameRows(await h.readAll('quarantine'), expectedQuarantine(batch, [conflict]));
      }));

    test('rewriting the same batch replaces the same files: same file set, no duplicate rows', () =>
      withLake(async (h) => {
        const batch = mixedBatch(100);
        const conflict = conflictFor(batch);
        const first = await h.lake.writeBatch(batch, [conflict]);
        const filesBefore = await h.listFiles();
        const rawBefore = await h.readAll('raw');
        const quarantineBefore = await h.readAll('quarantine');
        const second = await h.lake.writeBatch(batch, [conflict]);
        assert.deepStrictEqual(second.files, first.files);
        assert.deepStrictEqual(await h.listFiles(), filesBefore);
        assert.deepStrictEqual(await h.readAll('raw'), rawBefore);
        assert.deepStrictEqual(await h.readAll('quarantine'), quarantineBefore);
        for (const f of first.files) assert.ok(f.endsWith(`/${partName(100)}`), `${f} is named after the batch's first offset`);
      }));

    test('consecutive batches add files named after their first offset; committedOffset advances and survives reopening', () =>
      withLake(async (h) => {
        assert.equal(await h.lake.committedOffset(), 0);
        const b1 = mixedBatch(1);
        const b2 = mixedBatch(5);
        await h.lake.writeBatch(b1, []);
        assert.equal(await h.lake.committedOffset(), b1.toOffset);
        await h.lake.writeBatch(b2, []);
        assert.equal(await h.lake.committedOffset(), b2.toOffset);
        await h.lake.writeBatch(b1, []); // a replay never moves the mark back
        assert.equal(await h.lake.committedOffset(), b2.toOffset);
        assertSameRows(await h.readAll('raw'), [...expectedRaw(b1), ...expectedRaw(b2)]);
        const names = new Set((await h.listFiles()).filter((f) => f.endsWith('.parquet')).map((f) => f.split('/').pop()));
        assert.deepStrictEqual([...names].sort(), [partName(1), partName(5)]);
        await h.lake.close();
        const again = await h.reopen();
        try {
          assert.equal(await again.committedOffset(), b2.toOffset);
        } finally {
          await again.close();
        }
      }));

    test('concurrent writeBatch calls are serialized and both land; no temporaries remain', () =>
      withLake(async (h) => {
        const b1 = mixedBatch(1);
        const b2 = mixedBatch(10);
        await Promise.all([h.lake.writeBatch(b1, [conflictFor(b1)]), h.lake.writeBatch(b2, [])]);
        assertSameRows(await h.readAll('raw'), [...expectedRaw(b1), ...expectedRaw(b2)]);
        assert.equal(await h.lake.committedOffset(), b2.toOffset);
        assert.deepStrictEqual((await h.listFiles()).filter((f) => f.split('/').pop()!.startsWith('.tmp-')), []);
      }));
  });
}
