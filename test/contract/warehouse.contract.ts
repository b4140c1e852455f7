/**
 * The contract every `Warehouse` implementation must pass (warehouse-duckdb.test.ts,
 * warehouse-postgres.test.ts). It talks to the `Warehouse` interface only, and its SQL is the
 * subset both engines accept; what differs per engine (how SQL would read a server file) comes in
 * `EngineProbes`.
 *
 * The factory returns a fresh, EMPTY, ready warehouse configured with
 * `metricDefaults: CONTRACT_METRIC_DEFAULTS`; `cleanup()` closes it and removes its data.
 * The suite calls `open()` once more (it must be idempotent).
 *
 * Values from `query()` must be JSON-friendly: counts and BIGINTs as numbers, DOUBLEs as
 * numbers, timestamps as ISO-8601 UTC strings ending in `Z`, arrays as arrays.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccountingRow, Warehouse } from '../../src/core/sinks.js';
import { QueryError } from '../../src/core/sinks.js';
import type { MetricSpec, SensorSpec } from '../../src/core/registry.js';
import type { SpoolRecord, WarehouseOutcome } from '../../src/core/types.js';
import {
  HOUR,
  MINUTE,
  SpoolSim,
  T0,
  batchOf,
  quarantineItem,
  reading,
  receivedBySource,
} from '../helpers/batches.js';

export const CONTRACT_METRIC_DEFAULTS: Record<string, MetricSpec> = {
  temperature: { unit: '°C', min: -60, max: 100 },
  humidity: { unit: '%', min: 0, max: 100 },
};

export type WarehouseFactory = () => Promise<{ warehouse: Warehouse; cleanup(): Promise<void> }>;

/** Engine-specific SQL the contract needs. */
export interface EngineProbes {
  /** SELECTs that would read a file on the server with this engine's own functions: each must be refused. */
  fileReads: string[];
}

async function withWarehouse(factory: WarehouseFactory, fn: (w: Warehouse) => Promise<void>): Promise<void> {
  const { warehouse, cleanup } = await factory();
  try {
    await warehouse.open();
    await fn(warehouse);
  } finally {
    await cleanup();
  }
}

async function scalar(w: Warehouse, sql: string): Promise<unknown> {
  const r = await w.query(sql);
  assert.equal(r.rows.length, 1, `one row expected from ${sql}`);
  return r.rows[0][r.columns[0]];
}

async function count(w: Warehouse, sqlFrom: string): Promise<number> {
  const n = await scalar(w, `SELECT count(*) AS n FROM ${sqlFrom}`);
  assert.equal(typeof n, 'number', 'count(*) must come back as a number');
  return n as number;
}

/** accepted/quarantined/rejected/duplicate per source, and by reason. */
function summarize(rows: AccountingRow[]) {
  const bySource = new Map<string, { accepted: number; quarantined: number; rejected: number; duplicate: number }>();
  const byReason = new Map<string, number>();
  for (const r of rows) {
    const s = bySource.get(r.source) ?? { accepted: 0, quarantined: 0, rejected: 0, duplicate: 0 };
    s[r.outcome] += r.items;
    bySource.set(r.source, s);
    byReason.set(`${r.source}/${r.outcome}/${r.reason}`, (byReason.get(`${r.source}/${r.outcome}/${r.reason}`) ?? 0) + r.items);
  }
  return { bySource, byReason };
}

async function expectRefused(w: Warehouse, sql: string, codes: QueryError['code'][] = ['refused']): Promise<QueryError> {
  let caught: unknown;
  try {
    const r = await w.query(sql);
    assert.fail(`expected ${sql} to be refused, got ${JSON.stringify(r.rows.slice(0, 3))}`);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof QueryError, `${sql}: expected a QueryError, got ${String(caught)}`);
  assert.ok(codes.includes(caught.code), `${sql}: expected code ${codes.join('|')}, got ${caught.code}: ${caught.message}`);
  assert.ok(caught.message.length > 0);
  return caught;
}

export function runWarehouseContract(name: string, factory: WarehouseFactory, probes: EngineProbes): void {
  describe(`Warehouse contract: ${name}`, () => {
    test('a new warehouse is empty; open() is idempotent; committedOffset follows batches', async () => {
      await withWarehouse(factory, async (w) => {
        await w.open();
        assert.ok((await w.committedOffset()) < 1, 'nothing committed yet');
        assert.equal(await count(w, 'readings'), 0);
        assert.deepEqual(await w.loadRegistry(), []);
        assert.deepEqual(await w.accounting(), []);
        const s = new SpoolSim();
        await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0, 20)]), s.rejected('auth_failed')]));
        assert.equal(await w.committedOffset(), 2);
      });
    });

    test('inserts readings and reads them back with JSON-friendly values', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        const r1 = s.message([reading('s1', 'temperature', T0, 21.5, 7), reading('s1', 'humidity', T0, 40)], {
          receivedAt: T0 + 1000,
        });
        const r2 = s.message([reading('s2', 'temperature', T0 + MINUTE, -3.25)], { source: 'http', receivedAt: T0 + MINUTE + 5 });
        const out = await w.writeBatch(batchOf([r1, r2]));
        assert.deepEqual(out, { inserted: 3, duplicates: 0, conflicts: [] });
        assert.equal(await count(w, 'readings'), 3);
        const r = await w.query(
          'SELECT sensor_id, metric, ts, value, received_at, source, seq FROM readings ORDER BY sensor_id, metric',
        );
        assert.deepEqual(r.columns, ['sensor_id', 'metric', 'ts', 'value', 'received_at', 'source', 'seq']);
        assert.equal(r.truncated, false);
        assert.deepEqual(r.rows, [
          { sensor_id: 's1', metric: 'humidity', ts: '2024-05-01T12:00:00.000Z', value: 40, received_at: '2024-05-01T12:00:01.000Z', source: 'mqtt', seq: null },
          { sensor_id: 's1', metric: 'temperature', ts: '2024-05-01T12:00:00.000Z', value: 21.5, received_at: '2024-05-01T12:00:01.000Z', source: 'mqtt', seq: 7 },
          { sensor_id: 's2', metric: 'temperature', ts: '2024-05-01T12:01:00.000Z', value: -3.25, received_at: '2024-05-01T12:01:00.005Z', source: 'http', seq: null },
        ]);
      });
    });

    test('exact duplicates, in one batch and across batches, are counted and not stored', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        const a = () => reading('s1', 'temperature', T0, 20);
        const out1 = await w.writeBatch(batchOf([s.message([a()]), s.message([a(), reading('s1', 'temperature', T0 + MINUTE, 20)])]));
        assert.deepEqual(out1, { inserted: 2, duplicates: 1, conflicts: [] });
        const out2 = await w.writeBatch(batchOf([s.message([a()])]));
        assert.deepEqual(out2, { inserted: 0, duplicates: 1, conflicts: [] });
        assert.equal(await count(w, 'readings'), 2);
        assert.equal(await count(w, 'quarantine'), 0);
        const { bySource } = summarize(await w.accounting());
        assert.deepEqual(bySource.get('mqtt'), { accepted: 4, quarantined: 0, rejected: 0, duplicate: 2 });

        // Late readings (days old) mixed with current ones are checked against stored rows too.
        const late = T0 - 3 * 24 * HOUR;
        await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', late, 5), reading('s1', 'temperature', late - 7 * 24 * HOUR, 6)])]));
        const out3 = await w.writeBatch(
          batchOf([
            s.message([
              reading('s1', 'temperature', T0 + 2 * MINUTE, 20),
              reading('s1', 'temperature', late, 5),
              reading('s1', 'temperature', late - 7 * 24 * HOUR, 7),
              reading('s1', 'temperature', T0, 20),
            ]),
          ]),
        );
        assert.equal(out3.inserted, 1);
        assert.equal(out3.duplicates, 2);
        assert.deepEqual(out3.conflicts.map((c) => c.ts), [late - 7 * 24 * HOUR]);
        assert.equal(await count(w, 'readings'), 5);
      });
    });

    test('a conflicting duplicate is quarantined and the first value is kept', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        const first = s.message([reading('s1', 'temperature', T0, 20)]);
        const sameBatch = s.message([reading('s1', 'temperature', T0, 21, 5)], { deviceId: 'dev-9', receivedAt: T0 + 2000 });
        const out1 = await w.writeBatch(batchOf([first, sameBatch]));
        assert.equal(out1.inserted, 1);
        assert.equal(out1.duplicates, 0);
        assert.equal(out1.conflicts.length, 1);
        const c = out1.conflicts[0];
        assert.equal(c.reason, 'conflicting_duplicate');
        assert.equal(c.sensorId, 's1');
        assert.equal(c.metric, 'temperature');
        assert.equal(c.ts, T0);
        assert.equal(c.offset, sameBatch.offset);
        assert.equal(c.source, 'mqtt');
        assert.equal(c.topic, 'sensors/s1/telemetry');
        assert.equal(c.deviceId, 'dev-9');
        assert.equal(c.receivedAt, T0 + 2000);
        assert.match(c.detail, /21/);
        assert.match(c.detail, /20/);
        assert.deepEqual(JSON.parse(c.payload), { sensorId: 's1', metric: 'temperature', ts: T0, value: 21, seq: 5 });

        // Across batches; and in one batch, a conflict with the stored row followed by an exact repeat of it.
        const out2 = await w.writeBatch(
          batchOf([
            s.message([reading('s1', 'temperature', T0, 25)], { receivedAt: T0 + 5000 }),
            s.message([reading('s1', 'temperature', T0, 20)], { receivedAt: T0 + 5000 }),
          ]),
        );
        assert.equal(out2.inserted, 0);
        assert.equal(out2.duplicates, 1);
        assert.equal(out2.conflicts.length, 1);
        assert.match(out2.conflicts[0].detail, /25/);

        assert.equal(await scalar(w, "SELECT value FROM readings WHERE sensor_id = 's1' AND metric = 'temperature'"), 20);
        assert.equal(await count(w, 'readings'), 1);
        assert.equal(await count(w, "quarantine WHERE reason = 'conflicting_duplicate'"), 2);
        const q = await w.query(
          "SELECT sensor_id, metric, ts, source, topic, device_id, received_at FROM quarantine WHERE reason = 'conflicting_duplicate' ORDER BY received_at",
        );
        assert.deepEqual(q.rows[0], {
          sensor_id: 's1',
          metric: 'temperature',
          ts: '2024-05-01T12:00:00.000Z',
          source: 'mqtt',
          topic: 'sensors/s1/telemetry',
          device_id: 'dev-9',
          received_at: '2024-05-01T12:00:02.000Z',
        });
        const { byReason } = summarize(await w.accounting());
        assert.equal(byReason.get('mqtt/quarantined/conflicting_duplicate'), 2);
        assert.equal(byReason.get('mqtt/accepted/'), 2);
        assert.equal(byReason.get('mqtt/duplicate/'), 1);
      });
    });

    test('replaying a batch, an overlapping batch or a partly new batch changes nothing and answers the same', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        const A = (v: number) => reading('sA', 'temperature', T0, v);
        const B = (v: number) => reading('sB', 'temperature', T0, v);
        const C = (v: number) => reading('sC', 'temperature', T0, v);
        const D = (v: number) => reading('sD', 'temperature', T0, v);
        const E = (v: number) => reading('sE', 'temperature', T0, v);
        const r1 = s.message([A(1), B(1)]); // 2 inserted
        const r2 = s.message([A(1), C(5)]); // duplicate, inserted
        const r3 = s.message([A(2)]); // conflict
        const r4 = s.rejected('not_authorized');
        const r5 = s.message([B(9), D(1)], { quarantined: [quarantineItem('out_of_range', { sensorId: 'sD', metric: 'temperature', ts: T0 })] }); // conflict, inserted
        const r6 = s.message([D(1)]); // duplicate
        const b1 = batchOf([r1, r2, r3]);
        const b2 = batchOf([r4, r5, r6]);
        const o1 = await w.writeBatch(b1);
        const o2 = await w.writeBatch(b2);
        assert.equal(o1.inserted, 3);
        assert.equal(o1.duplicates, 1);
        assert.deepEqual(o1.conflicts.map((c) => [c.offset, c.sensorId]), [[3, 'sA']]);
        assert.equal(o2.inserted, 1);
        assert.equal(o2.duplicates, 1);
        assert.deepEqual(o2.conflicts.map((c) => [c.offset, c.sensorId]), [[5, 'sB']]);

        const snapshot = async () => ({
          readings: (await w.query('SELECT sensor_id, metric, ts, value FROM readings ORDER BY sensor_id, metric, ts')).rows,
          quarantine: await count(w, 'quarantine'),
          accounting: await w.accounting(),
          offset: await w.committedOffset(),
        });
        const before = await snapshot();
        assert.equal(before.offset, 6);

        assert.deepEqual(await w.writeBatch(b1), o1);
        assert.deepEqual(await w.writeBatch(b2), o2);
        assert.deepEqual(await w.writeBatch(b1), o1, 'a second replay answers the same too');

        // [2..5] spans both batches, all at or below the high-water mark.
        const overlap: WarehouseOutcome = await w.writeBatch(batchOf([r2, r3, r4, r5]));
        assert.deepEqual(overlap, { inserted: 2, duplicates: 1, conflicts: [...o1.conflicts, ...o2.conflicts] });
        assert.deepEqual(await snapshot(), before, 'replays changed nothing');

        // [5..8]: 5 and 6 are old, 7 and 8 new.
        const r7 = s.message([E(3), A(7)]); // inserted, conflict
        const r8 = s.message([E(3)]); // duplicate
        const partly = await w.writeBatch(batchOf([r5, r6, r7, r8]));
        assert.equal(partly.inserted, 2);
        assert.equal(partly.duplicates, 2);
        assert.deepEqual(partly.conflicts.map((c) => [c.offset, c.sensorId]), [[5, 'sB'], [7, 'sA']]);
        assert.deepEqual(partly.conflicts[0], o2.conflicts[0]);
        assert.equal(await w.committedOffset(), 8);
        assert.equal(await count(w, 'readings'), 5);
        const { bySource } = summarize(await w.accounting());
        // received: 11 readings + 1 validation item + 1 rejection = 13 = 8 accepted + (3 conflicts + 1) + 1
        assert.deepEqual(bySource.get('mqtt'), { accepted: 8, quarantined: 3 + 1, rejected: 1, duplicate: 3 });
        // The same partly new batch again is now a pure replay.
        assert.deepEqual(await w.writeBatch(batchOf([r5, r6, r7, r8])), partly);
      });
    });

    test('accounting: received = accepted + quarantined + rejected, by source and reason, per hour range', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        const h2 = T0 + HOUR;
        const records: SpoolRecord[] = [
          s.message([reading('s1', 'temperature', T0, 20), reading('s1', 'humidity', T0, 50)]),
          s.message([reading('s1', 'temperature', T0, 20)]), // duplicate
          s.message([reading('s1', 'temperature', T0, 22)]), // conflict
          s.message([], { quarantined: [quarantineItem('invalid_json'), quarantineItem('invalid_json')] }),
          s.message([reading('s2', 'temperature', T0, 1)], { quarantined: [quarantineItem('out_of_range')] }),
          s.rejected('auth_failed'),
          s.rejected('not_authorized'),
          s.rejected('not_authorized', { source: 'http', receivedAt: h2 + 10 }),
          s.message([reading('s3', 'temperature', h2, 5)], { source: 'http', receivedAt: h2 + 5 }),
          s.message([], { source: 'http', receivedAt: h2 + 6, quarantined: [quarantineItem('schema')] }),
        ];
        const out = await w.writeBatch(batchOf(records.slice(0, 5)));
        await w.writeBatch(batchOf(records.slice(5)));
        assert.equal(out.duplicates, 1);

        const rows = await w.accounting();
        for (const r of rows) {
          assert.ok(Number.isInteger(r.items) && r.items > 0);
          if (r.outcome === 'accepted' || r.outcome === 'duplicate') assert.equal(r.reason, '');
          else assert.notEqual(r.reason, '');
        }
        const { bySource, byReason } = summarize(rows);
        for (const [source, received] of receivedBySource(records)) {
          const s = bySource.get(source);
          assert.ok(s, `accounting for ${source}`);
          assert.equal(s.accepted + s.quarantined + s.rejected, received, `identity for ${source}`);
          assert.ok(s.duplicate <= s.accepted, 'duplicates are a subset of accepted');
        }
        assert.deepEqual(Object.fromEntries(byReason), {
          'http/accepted/': 1,
          'http/quarantined/schema': 1,
          'http/rejected/not_authorized': 1,
          'mqtt/accepted/': 4,
          'mqtt/duplicate/': 1,
          'mqtt/quarantined/conflicting_duplicate': 1,
          'mqtt/quarantined/invalid_json': 2,
          'mqtt/quarantined/out_of_range': 1,
          'mqtt/rejected/auth_failed': 1,
          'mqtt/rejected/not_authorized': 1,
        });
        assert.equal(await count(w, 'quarantine'), 5);

        // Only the second hour ([h2, h2 + 1h)), and a range starting mid-hour includes that hour.
        const second = summarize(await w.accounting({ from: h2, to: h2 + HOUR }));
        assert.deepEqual([...second.bySource.keys()], ['http']);
        assert.deepEqual(await w.accounting({ from: h2 + 30 * MINUTE }), await w.accounting({ from: h2 }));
        const first = summarize(await w.accounting({ to: h2 }));
        assert.deepEqual([...first.bySource.keys()], ['mqtt']);
        assert.deepEqual(await w.accounting({ from: T0 - 10 * HOUR, to: T0 - 9 * HOUR }), []);
      });
    });

    test('auto-registers unknown sensors and metrics with the configured defaults', async () => {
      await withWarehouse(factory, async (w) => {
        await w.upsertSensor({
          sensorId: 'known',
          location: 'lab',
          type: 'thermo',
          expectedIntervalS: 60,
          metrics: { temperature: { unit: '°C', min: 0, max: 40 } },
        });
        const s = new SpoolSim();
        await w.writeBatch(
          batchOf([
            s.message([reading('auto-1', 'temperature', T0, 20), reading('auto-1', 'pressure', T0, 1013)], { receivedAt: T0 + 1 }),
            s.message([reading('known', 'temperature', T0, 20), reading('known', 'humidity', T0, 30)]),
          ]),
        );
        const reg = new Map((await w.loadRegistry()).map((r) => [r.sensorId, r]));
        assert.deepEqual(reg.get('auto-1'), {
          sensorId: 'auto-1',
          location: null,
          type: null,
          expectedIntervalS: null,
          metrics: {
            pressure: { unit: null, min: null, max: null },
            temperature: { unit: '°C', min: -60, max: 100 },
          },
        });
        assert.deepEqual(reg.get('known'), {
          sensorId: 'known',
          location: 'lab',
          type: 'thermo',
          expectedIntervalS: 60,
          metrics: {
            humidity: { unit: '%', min: 0, max: 100 },
            temperature: { unit: '°C', min: 0, max: 40 },
          },
        });
        const created = await scalar(w, "SELECT created_at FROM sensors WHERE sensor_id = 'auto-1'");
        assert.equal(created, new Date(T0 + 1).toISOString());
        // An update that drops a metric, then a reading of it: registered again, with the defaults.
        await w.upsertSensor({ ...reg.get('known')!, metrics: { humidity: { unit: '%', min: 10, max: 90 } } });
        await w.writeBatch(batchOf([s.message([reading('known', 'temperature', T0 + MINUTE, 21)])]));
        const known = (await w.loadRegistry()).find((r) => r.sensorId === 'known');
        assert.deepEqual(known?.metrics, {
          humidity: { unit: '%', min: 10, max: 90 },
          temperature: { unit: '°C', min: -60, max: 100 },
        });
      });
    });

    test('registry round-trip: upsertSensor then loadRegistry; an update replaces the metric set', async () => {
      await withWarehouse(factory, async (w) => {
        const a: SensorSpec = {
          sensorId: 'a-1',
          location: 'roof',
          type: 'weather',
          expectedIntervalS: 30,
          metrics: { temperature: { unit: '°C', min: -40, max: 60 }, wind: { unit: 'm/s', min: 0, max: null } },
        };
        const b: SensorSpec = { sensorId: 'b-1', location: null, type: null, expectedIntervalS: null, metrics: {} };
        await w.upsertSensor(b);
        await w.upsertSensor(a);
        assert.deepEqual(await w.loadRegistry(), [a, b]);
        const a2: SensorSpec = { ...a, location: 'cellar', expectedIntervalS: 2.5, metrics: { humidity: { unit: '%', min: 0, max: 100 } } };
        await w.upsertSensor(a2);
        assert.deepEqual(await w.loadRegistry(), [a2, b]);
        assert.equal(await count(w, 'sensors'), 2);
      });
    });

    test('syncDevices mirrors the device list', async () => {
      await withWarehouse(factory, async (w) => {
        await w.syncDevices([
          { deviceId: 'dev-1', sensors: ['s1', 's2'], createdAt: T0 },
          { deviceId: 'dev-2', sensors: [], createdAt: T0 + 1000 },
        ]);
        assert.deepEqual((await w.query('SELECT device_id, sensors, created_at FROM devices ORDER BY device_id')).rows, [
          { device_id: 'dev-1', sensors: ['s1', 's2'], created_at: '2024-05-01T12:00:00.000Z' },
          { device_id: 'dev-2', sensors: [], created_at: '2024-05-01T12:00:01.000Z' },
        ]);
        await w.syncDevices([{ deviceId: 'dev-2', sensors: ['s3'], createdAt: T0 + 1000 }]);
        assert.deepEqual((await w.query('SELECT device_id, sensors FROM devices')).rows, [{ device_id: 'dev-2', sensors: ['s3'] }]);
      });
    });

    test('query() is read-only: one SELECT only; no file access', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0, 20)])]));
        const refused = [
          "INSERT INTO sensors (sensor_id, created_at) VALUES ('evil', TIMESTAMP '2024-01-01 00:00:00')",
          "UPDATE readings SET value = 0",
          'DELETE FROM readings',
          'CREATE TABLE evil (a INTEGER)',
          'DROP TABLE readings',
          "COPY readings TO '/tmp/sensorpipe-contract-copy.csv'",
          "SET TimeZone = 'UTC'",
          'SELECT 1; SELECT 2',
          'SELECT 1; DROP TABLE readings',
        ];
        for (const sql of refused) await expectRefused(w, sql);
        // Engine-specific statements and file functions: refused, or not even valid on that engine; never run.
        for (const sql of [
          "ATTACH '/tmp/sensorpipe-contract.db' AS other",
          'INSTALL httpfs',
          "SELECT * FROM read_csv('/etc/passwd')",
          "SELECT * FROM glob('/*')",
        ]) {
          await expectRefused(w, sql, ['refused', 'invalid']);
        }
        assert.ok(probes.fileReads.length > 0, 'the engine names its file-reading functions');
        for (const sql of probes.fileReads) await expectRefused(w, sql);
        await expectRefused(w, 'SELEC nonsense FROM', ['invalid']);
        await expectRefused(w, 'SELECT * FROM no_such_table', ['invalid']);
        assert.equal(await count(w, 'readings'), 1, 'nothing was changed');
        assert.equal(await scalar(w, 'SELECT value FROM readings'), 20);
        // Still usable afterwards, and comments/CTEs are fine.
        assert.equal(await scalar(w, '-- a comment\nWITH x AS (SELECT 41 AS v) SELECT v + 1 AS answer FROM x'), 42);
      });
    });

    test('query() caps rows and says so', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        await w.writeBatch(batchOf([s.message([0, 1, 2, 3, 4].map((i) => reading('s1', 'temperature', T0 + i * MINUTE, i)))]));
        const capped = await w.query('SELECT value FROM readings ORDER BY ts', { maxRows: 3 });
        assert.deepEqual(capped.rows, [{ value: 0 }, { value: 1 }, { value: 2 }]);
        assert.equal(capped.truncated, true);
        const exact = await w.query('SELECT value FROM readings ORDER BY ts', { maxRows: 5 });
        assert.equal(exact.rows.length, 5);
        assert.equal(exact.truncated, false);
        const big = await w.query('SELECT * FROM generate_series(1, 200000)', { maxRows: 10 });
        assert.equal(big.rows.length, 10);
        assert.equal(big.truncated, true);
      });
    });

    test('query() stops a runaway cartesian join at the time limit', async () => {
      await withWarehouse(factory, async (w) => {
        let caught: unknown;
        const t1 = Date.now();
        try {
          await w.query('SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b', { timeoutMs: 300 });
        } catch (e) {
          caught = e;
        }
        const elapsed = Date.now() - t1;
        assert.ok(caught instanceof QueryError, `expected QueryError, got ${String(caught)}`);
        assert.equal(caught.code, 'timeout');
        assert.ok(elapsed < 10_000, `stopped after ${elapsed} ms`);
        // The warehouse keeps working.
        assert.equal(await scalar(w, 'SELECT 1 AS one'), 1);
        const s = new SpoolSim();
        assert.equal((await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0, 1)])]))).inserted, 1);
      });
    });

    test('jobTransaction runs statements with $n parameters and rolls back on error', async () => {
      await withWarehouse(factory, async (w) => {
        const s = new SpoolSim();
        await w.writeBatch(batchOf([s.message([reading('s1', 'temperature', T0, 20), reading('s1', 'humidity', T0, 40)])]));
        const rows = await w.jobTransaction((tx) => tx.all<{ metric: string; value: number }>('SELECT metric, value FROM readings WHERE sensor_id = $1 ORDER BY metric', ['s1']));
        assert.deepEqual(rows, [{ metric: 'humidity', value: 40 }, { metric: 'temperature', value: 20 }]);
        const changed = await w.jobTransaction((tx) => tx.run('UPDATE sensors SET location = $1 WHERE sensor_id = $2', ['lab', 's1']));
        assert.equal(changed, 1);
        await assert.rejects(
          w.jobTransaction(async (tx) => {
            await tx.run('UPDATE sensors SET location = $1 WHERE sensor_id = $2', ['attic', 's1']);
            await tx.run('SELECT * FROM no_such_table');
          }),
        );
        assert.equal((await w.query("SELECT location FROM sensors WHERE sensor_id = 's1'")).rows[0].location, 'lab', 'rolled back');
      });
    });
  });
}
