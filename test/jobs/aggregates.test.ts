// Resample and rollups on real minute data (UCI Occupancy, two sensors, five metrics, written out of
// order through writeBatch): every level equals a direct aggregation of `readings`; re-running
// gives the same tables; dry runs change nothing; late and out-of-order readings are folded in at
// every level by recomputing only the dirty windows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobContext } from '../../src/core/jobs.js';
import { silentLogger } from '../../src/core/types.js';
import type { AggregateJob } from '../../src/jobs/aggregate-job.js';
import { resampleJob } from '../../src/jobs/resample.js';
import { rollup1dJob, rollup1hJob } from '../../src/jobs/rollup.js';
import { DAY, HOUR, alignDown, alignUp, windowsIn } from '../../src/jobs/windows.js';
import { createRng } from '../../src/sim/prng.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { assertSameAggregates, expectedFromReadings, tableRows, type AggRow } from '../helpers/aggregates.js';
import { SpoolSim, batchOf, reading } from '../helpers/batches.js';
import { loadOccupancy, writeOccupancy } from '../helpers/occupancy.js';
import { testEngines, type OpenedWarehouse } from '../helpers/warehouses.js';

const rows = loadOccupancy({ limit: 1000 }); // 2015-02-04 17:51 .. 2015-02-05 ~10:30: two UTC days

for (const engine of testEngines('aggregate jobs')) describe(`aggregate jobs on ${engine.name}`, () => {
  const SENSORS = ['room-a', 'room-b'];
  const sim = new SpoolSim();
  let opened: OpenedWarehouse;
  let wh: Warehouse;
  let now = Date.UTC(2015, 1, 8);
  const ctx = (dryRun = false): JobContext => ({ warehouse: wh, lake: null, clock: { now: () => now }, logger: silentLogger, dryRun });

  const dataEnd = rows[rows.length - 1].ts + 60_000;
  const hours = windowsIn(alignDown(rows[0].ts, HOUR), alignUp(dataEnd, HOUR), HOUR);
  const days = windowsIn(alignDown(rows[0].ts, DAY), alignUp(dataEnd, DAY), DAY);
  const duck = { m: resampleJob(), h: rollup1hJob(), d: rollup1dJob() };

  async function runAll(jobs: { m: AggregateJob; h: AggregateJob; d: AggregateJob }): Promise<void> {
    for (const w of hours) await jobs.m.run(w, ctx());
    for (const w of hours) await jobs.h.run(w, ctx());
    for (const w of days) await jobs.d.run(w, ctx());
  }

  async function snapshot(): Promise<Record<string, AggRow[]>> {
    return { m: await tableRows(wh, 'readings_1m'), h: await tableRows(wh, 'readings_1h'), d: await tableRows(wh, 'readings_1d') };
  }

  async function assertAllLevelsExact(what: string): Promise<void> {
    assertSameAggregates(await tableRows(wh, 'readings_1m'), await expectedFromReadings(wh, 'minute'), `${what} 1m`);
    assertSameAggregates(await tableRows(wh, 'readings_1h'), await expectedFromReadings(wh, 'hour'), `${what} 1h`);
    assertSameAggregates(await tableRows(wh, 'readings_1d'), await expectedFromReadings(wh, 'day'), `${what} 1d`);
  }

  before(async () => {
    opened = await engine.open({});
    wh = opened.warehouse;
    const rng = createRng('aggregates');
    const inserted = await writeOccupancy(wh, sim, rows, { sensors: SENSORS, order: (items) => rng.shuffled(items), batchSize: 500 });
    assert.equal(inserted, rows.length * SENSORS.length * 5);
    await runAll(duck);
  });

  after(async () => {
    await opened?.cleanup();
  });

  test('every level equals a direct aggregation of readings (first/last by ts, avg = sum/count)', async () => {
    await assertAllLevelsExact('initial');
    const m = await tableRows(wh, 'readings_1m');
    // The data has minutes with two readings (clock jitter at :59 s) and minutes with none.
    assert.ok(m.some((r) => r.count === 2), 'some minute holds two readings');
    const d = await tableRows(wh, 'readings_1d');
    assert.deepEqual([...new Set(d.map((r) => r.bucket))], days.map((w) => new Date(w.start).toISOString()));
  });

  test('re-running every window gives the same tables', async () => {
    const before = await snapshot();
    await runAll(duck);
    const again = await snapshot();
    // Same rows, identical count/min/max/first/last; sum and avg to the last bits of floating-point
    // rounding (a parallel engine does not fix the summation order; see docs/jobs.md).
    for (const k of ['m', 'h', 'd'] as const) assertSameAggregates(again[k], before[k], `re-run ${k}`, 1e-12);
  });

  test('a dry run reports what it would write and changes nothing', async () => {
    const before = await snapshot();
    const r = await duck.m.run(hours[3], ctx(true));
    assert.equal(r.detail?.dryRun, true);
    assert.equal(r.rows, before.m.filter((x) => x.bucket >= new Date(hours[3].start).toISOString() && x.bucket < new Date(hours[3].end).toISOString()).length);
    assert.ok(r.rows > 0);
    assert.deepEqual(await snapshot(), before);
  });

  test('late and out-of-order readings: only the dirty windows are recomputed, at every level, and all levels stay exact', async () => {
    const before = await snapshot();
    const t = (i: number) => rows[i].ts;
    // Late readings for windows already aggregated at every level:
    const late = [
      sim.message([reading('room-a', 'temperature', t(100) + 30_000, 99.5)]), // extra reading inside a known minute: new max
      sim.message([reading('room-b', 'humidity', t(700) + 13_000 - 7_000, 1.5)]), // earlier than room-b's reading of that minute: new first, new min
      sim.message([reading('room-c', 'co2', t(900), 4321)]), // a sensor never seen before, in an old window
      sim.message([reading('room-a', 'light', t(0) - 2 * HOUR, 7)]), // before the very first reading: a new hour bucket
      sim.message(SENSORS.map((s, i) => reading(s, 'co2', t(50) + i * 13_000, rows[50].co2 + i * 0.25))), // exact repeats: duplicates, not stored
    ];
    const out = await wh.writeBatch(batchOf(late));
    assert.equal(out.inserted, 4);
    assert.equal(out.duplicates, 2);

    // Level 1m: the pending pass finds the four late readings (four sensor-hours) and recomputes them.
    const m = await duck.m.runPending(ctx());
    assert.ok(m, 'resample had pending work');
    assert.equal(m.detail?.lateWindowsMarked, 4);
    assert.equal(m.detail?.dirtyWindows, 4);
    assertSameAggregates(await tableRows(wh, 'readings_1m'), await expectedFromReadings(wh, 'minute'), 'after late data 1m');
    // Only those sensor-hours were rewritten: every other 1m row is byte-for-byte what it was.
    const hourOf = (b: string) => new Date(alignDown(Date.parse(b), HOUR)).toISOString();
    const dirty = new Set(
      [
        ['room-a', t(100)],
        ['room-b', t(700)],
        ['room-c', t(900)],
        ['room-a', t(0) - 2 * HOUR],
      ].map(([s, ts]) => `${s}|${new Date(alignDown(ts as number, HOUR)).toISOString()}`),
    );
    const untouched = (r: AggRow) => !dirty.has(`${r.sensor_id}|${hourOf(r.bucket)}`);
    assert.deepEqual((await tableRows(wh, 'readings_1m')).filter(untouched), before.m.filter(untouched));
    assert.equal(m.rows, (await tableRows(wh, 'readings_1m')).filter((r) => !untouched(r)).length);

    // The coarser levels are stale until their own pass…
    await assert.rejects(async () => assertSameAggregates(await tableRows(wh, 'readings_1h'), await expectedFromReadings(wh, 'hour'), '1h'));
    const h = await duck.h.runPending(ctx());
    assert.equal(h?.detail?.dirtyWindows, 4);
    assertSameAggregates(await tableRows(wh, 'readings_1h'), await expectedFromReadings(wh, 'hour'), 'after late data 1h');
    await assert.rejects(async () => assertSameAggregates(await tableRows(wh, 'readings_1d'), await expectedFromReadings(wh, 'day'), '1d'));
    const d = await duck.d.runPending(ctx());
    assert.ok(d && (d.detail?.dirtyWindows as number) >= 3, 'room-a, room-b and room-c days are dirty');
    await assertAllLevelsExact('after late data');
    assert.deepEqual((await wh.query('SELECT * FROM dirty_windows')).rows, []);
    // Nothing left to do: the next pending passes are no-ops.
    assert.equal(await duck.m.runPending(ctx()), null);
    assert.equal(await duck.h.runPending(ctx()), null);
    assert.equal(await duck.d.runPending(ctx()), null);
  });

  test('late data is also picked up by the next regular window run, at every level', async () => {
    await wh.writeBatch(batchOf([sim.message([reading('room-b', 'temperature', rows[800].ts + 13_000 + 20_000, -5)])]));
    const nextHour = { start: hours[hours.length - 1].end, end: hours[hours.length - 1].end + HOUR };
    const nextDay = { start: days[days.length - 1].end, end: days[days.length - 1].end + DAY };
    const m = await duck.m.run(nextHour, ctx());
    assert.equal(m.detail?.windowRows, 0);
    assert.equal(m.detail?.dirtyWindows, 1);
    await duck.h.run(nextHour, ctx());
    await duck.d.run(nextDay, ctx());
    await assertAllLevelsExact('after a late reading folded in by window runs');
    const state = (await wh.query('SELECT level, covered_until FROM aggregate_state ORDER BY level')).rows;
    assert.deepEqual(state, [
      { level: '1d', covered_until: new Date(nextDay.end).toISOString() },
      { level: '1h', covered_until: new Date(nextHour.end).toISOString() },
      { level: '1m', covered_until: new Date(nextHour.end).toISOString() },
    ]);
  });
});
