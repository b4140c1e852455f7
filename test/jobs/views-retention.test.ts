// BI views and example queries on a populated warehouse (real minute data, aggregates built by the
// jobs, quarantine, quality results, readings today), then warehouse retention: a dry run reports
// exactly what a real run deletes and changes nothing; after a real run the aggregate jobs refuse to
// recompute windows whose source is gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/core/types.js';
import { resampleJob } from '../../src/jobs/resample.js';
import { RetentionJob, type RetentionTableReport } from '../../src/jobs/retention.js';
import { rollup1dJob, rollup1hJob } from '../../src/jobs/rollup.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import type { JobSettings } from '../../src/jobs/types.js';
import { DAY, HOUR, MINUTE, alignDown } from '../../src/jobs/windows.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { tableRows } from '../helpers/aggregates.js';
import { SpoolSim, batchOf, quarantineItem, reading } from '../helpers/batches.js';
import { loadOccupancy, writeOccupancy } from '../helpers/occupancy.js';
import { testEngines, type OpenedWarehouse } from '../helpers/warehouses.js';

const EXAMPLES = fileURLToPath(new URL('../../docs/example-queries.sql', import.meta.url));
const T = (iso: string) => Date.parse(iso);

for (const engine of testEngines('BI views, example queries and retention')) describe(`BI views, example queries and retention on ${engine.name}`, () => {
  const sim = new SpoolSim();
  let opened: OpenedWarehouse;
  let wh: Warehouse;
  let jobs: Scheduler;
  const settings: JobSettings = { enabled: true, schedule: '*/5 * * * *', graceMs: 300_000, maxCatchupWindows: 168 };
  const now = Date.now();
  const liveTs = Array.from({ length: 10 }, (_, i) => alignDown(now, MINUTE) - i * MINUTE);

  async function count(sql: string): Promise<number> {
    return (await wh.query(sql)).rows[0].n as number;
  }

  before(async () => {
    opened = await engine.open({ temperature: { unit: '°C', min: -60, max: 100 }, humidity: { unit: '%', min: 0, max: 100 }, co2: { unit: 'ppm', min: 0, max: 10000 } });
    wh = opened.warehouse;
    // 2015-02-04 17:51 .. 2015-02-05 ~18:00, two rooms, with a 20-minute outage in the middle.
    const rows = loadOccupancy({ limit: 1450 }).filter((_, i) => i < 500 || i >= 520);
    await writeOccupancy(wh, sim, rows, { sensors: ['room-a', 'room-b'] });
    await wh.upsertSensor({ sensorId: 'room-a', location: 'office-1', type: 'occupancy', expectedIntervalS: 60, metrics: { temperature: { unit: '°C', min: -60, max: 100 }, humidity: { unit: '%', min: 0, max: 100 }, light: { unit: 'lx', min: 0, max: null }, co2: { unit: 'ppm', min: 0, max: 10000 }, humidity_ratio: { unit: 'kg/kg', min: 0, max: 1 } } });
    // Late arrivals (three hours after their timestamp) and a quarantined item.
    await wh.writeBatch(
      batchOf([
        sim.message([reading('room-b', 'temperature', rows[100].ts + 40_000, 21.25)], { receivedAt: rows[100].ts + 3 * HOUR }),
        sim.message([], { quarantined: [quarantineItem('out_of_range', { sensorId: 'room-a', metric: 'co2', ts: rows[10].ts, payload: '{"co2":99999}' })], receivedAt: rows[10].ts }),
      ]),
    );
    // A live sensor: readings in the last ten minutes (real clock, as v_sensor_health uses now()).
    await wh.writeBatch(batchOf(liveTs.map((ts) => sim.message([reading('live-1', 'temperature', ts, 20 + (ts % 7) / 10)], { receivedAt: ts + 500 }))));
    await wh.upsertSensor({ sensorId: 'live-1', location: 'lab', type: 'thermo', expectedIntervalS: 60, metrics: { temperature: { unit: '°C', min: -60, max: 100 } } });
    // Quality findings as the quality jobs write them: one open (recent) warning for live-1, an old one for room-a.
    await wh.jobTransaction(async (tx) => {
      const ins = `INSERT INTO quality_results ("check", sensor_id, metric, window_start, window_end, severity, observed, expected, detail, created_at)
                   VALUES ($1, $2, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), $6, $7, $8, $9, CAST($5 AS TIMESTAMP))`;
      const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
      await tx.run(ins, ['stuck', 'live-1', 'temperature', iso(now - HOUR), iso(now - 60_000), 'warning', 0, 1, '{"note":"flat for 40 min"}']);
      await tx.run(ins, ['spike', 'room-a', 'co2', iso(T('2015-02-05T00:00:00Z')), iso(T('2015-02-05T01:00:00Z')), 'critical', 2100, 700, '{}']);
      await tx.run(ins, ['completeness', 'room-b', 'temperature', iso(T('2015-02-05T00:00:00Z')), iso(T('2015-02-05T01:00:00Z')), 'info', 60, 60, '{}']);
    });
    jobs = new Scheduler(
      [
        { job: resampleJob(), settings },
        { job: rollup1hJob(), settings },
        { job: rollup1dJob(), settings },
        {
          job: new RetentionJob({ keepDays: { readings: 1, readings_1m: 1, readings_1h: null, readings_1d: null }, protectLevels: ['1m', '1h', '1d'] }),
          settings,
        },
      ],
      { warehouse: wh, logger: silentLogger },
    );
    for (const name of ['resample', 'rollup_1h', 'rollup_1d']) {
      const s = await jobs.runRange(jobs.planRange(name, { from: T('2015-02-04T00:00:00Z'), to: T('2015-02-06T00:00:00Z') }));
      assert.equal(s.failed, 0);
    }
  });

  after(async () => {
    await opened?.cleanup();
  });

  test('v_hourly and v_daily: the aggregates with sensor metadata and units', async () => {
    const h = (await wh.query("SELECT * FROM v_hourly WHERE sensor_id = 'room-a' AND metric = 'co2' ORDER BY hour LIMIT 2")).rows;
    assert.equal(h[0].location, 'office-1');
    assert.equal(h[0].sensor_type, 'occupancy');
    assert.equal(h[0].unit, 'ppm');
    assert.equal(h[0].hour, '2015-02-04T17:00:00.000Z');
    assert.equal(h[1].completeness, (h[1].count as number) / 60);
    assert.equal(await count('SELECT count(*) AS n FROM v_hourly'), (await tableRows(wh, 'readings_1h')).length);
    const d = (await wh.query("SELECT * FROM v_daily WHERE sensor_id = 'room-b' AND metric = 'temperature' ORDER BY day")).rows;
    assert.deepEqual(d.map((r) => r.day), ['2015-02-04', '2015-02-05']);
    assert.equal(d[0].unit, '°C', 'units of auto-registered sensors come from metricDefaults');
    assert.equal(d[0].completeness, null, 'no declared interval: no completeness');
  });

  test('v_sensor_health: last seen, readings today against the declared interval, open quality issues, status', async () => {
    const rows = (await wh.query('SELECT * FROM v_sensor_health ORDER BY sensor_id')).rows;
    const by = Object.fromEntries(rows.map((r) => [r.sensor_id, r]));
    assert.deepEqual(Object.keys(by), ['live-1', 'room-a', 'room-b']);
    const live = by['live-1'];
    const midnight = alignDown(Date.now(), DAY);
    const today = liveTs.filter((ts) => ts >= midnight).length; // the last ten minutes may straddle midnight
    assert.equal(live.last_seen, new Date(liveTs[0]).toISOString());
    assert.equal(live.samples_today, today);
    assert.equal(live.readings_today, today);
    const expected = live.expected_samples_today as number;
    assert.ok(Math.abs(expected - Math.floor((Date.now() - midnight) / 60_000)) <= 1, `expected samples ${expected}`);
    if (expected > 0) assert.equal(live.completeness_today, Math.min(1, today / expected));
    assert.equal(live.open_quality_issues, 1);
    assert.equal(live.status, 'issues');
    assert.equal(by['room-a'].status, 'silent', 'declared every 60 s, last seen in 2015');
    assert.equal(by['room-a'].open_quality_issues, 0, 'its finding is older than a day');
    assert.equal(by['room-b'].status, 'ok', 'no declared interval, only an info finding');
    assert.equal(by['room-b'].samples_today, 0);
  });

  test('every query in docs/example-queries.sql runs and returns rows', async () => {
    const text = readFileSync(EXAMPLES, 'utf8');
    const blocks = text.split(/^-- name: /m).slice(1);
    assert.ok(blocks.length >= 8 && blocks.length <= 15, `${blocks.length} queries`);
    for (const block of blocks) {
      const name = block.slice(0, block.indexOf('\n')).trim();
      const sql = block
        .slice(block.indexOf('\n') + 1)
        .split('\n')
        .filter((l) => !l.startsWith('--'))
        .join('\n')
        .trim()
        .replace(/;$/, '');
      assert.ok(sql.length > 0 && name.length > 0, `query "${name}" has SQL`);
      const r = await wh.query(sql).catch((err: Error) => assert.fail(`"${name}" failed: ${err.message}`));
      assert.ok(r.rows.length > 0, `"${name}" returned no rows`);
    }
  });

  test('retention: a dry run lists exactly what a real run deletes, per table, and deletes nothing', async () => {
    const plan = jobs.planRange('retention', { from: T('2015-02-05T00:00:00Z'), to: T('2015-02-06T00:00:00Z') });
    assert.equal(plan.windows.length, 1);
    const tables = ['readings', 'readings_1m', 'readings_1h', 'readings_1d'];
    const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(`SELECT count(*) AS n FROM ${t}`)])));
    const before = await counts();
    const cutoff = '2015-02-05 00:00:00';
    const oldRaw = await count(`SELECT count(*) AS n FROM readings WHERE ts < TIMESTAMP '${cutoff}'`);
    const old1m = await count(`SELECT count(*) AS n FROM readings_1m WHERE bucket < TIMESTAMP '${cutoff}'`);
    assert.ok(oldRaw > 0 && old1m > 0);

    const dry = await jobs.runRange(plan, { dryRun: true });
    const report = dry.runs?.[0].detail?.tables as RetentionTableReport[];
    assert.deepEqual(
      report.map((t) => [t.table, t.keepDays, t.cutoff, t.rows]),
      [
        ['readings', 1, '2015-02-05T00:00:00.000Z', oldRaw],
        ['readings_1m', 1, '2015-02-05T00:00:00.000Z', old1m],
        ['readings_1h', null, null, 0],
        ['readings_1d', null, null, 0],
      ],
    );
    assert.equal(report[0].from, '2015-02-04T17:51:00.000Z');
    assert.ok((report[0].to as string) < '2015-02-05T00:00:00.000Z');
    assert.deepEqual(await counts(), before, 'the dry run deleted nothing');
    assert.equal(await count('SELECT count(*) AS n FROM aggregate_state WHERE retained_from IS NOT NULL'), 0);
    assert.equal(await count("SELECT count(*) AS n FROM job_runs WHERE job = 'retention'"), 0, 'dry runs are not recorded');

    const real = await jobs.runRange(plan);
    assert.equal(real.rows, oldRaw + old1m);
    assert.deepEqual((real.runs?.[0].detail?.tables as RetentionTableReport[]).map((t) => t.rows), [oldRaw, old1m, 0, 0]);
    const afterCounts = await counts();
    assert.equal(afterCounts.readings, before.readings - oldRaw);
    assert.equal(afterCounts.readings_1m, before.readings_1m - old1m);
    assert.equal(afterCounts.readings_1h, before.readings_1h, 'aggregates are kept longer');
    assert.equal(await count(`SELECT count(*) AS n FROM readings WHERE ts < TIMESTAMP '${cutoff}'`), 0);
    // Running it again deletes nothing more.
    assert.equal((await jobs.runRange(plan)).rows, 0);
  });

  test('after retention, windows whose source was deleted are never recomputed from partial data', async () => {
    const hourly = await tableRows(wh, 'readings_1h');
    const old = jobs.planRange('rollup_1h', { from: T('2015-02-04T20:00:00Z'), to: T('2015-02-04T21:00:00Z') });
    const s = await jobs.runRange(old);
    assert.equal(s.skipped, 1);
    assert.match(String(s.runs?.[0].detail?.skipped), /readings_1m before 2015-02-05T00:00:00.000Z was deleted by retention/);
    // A very late reading for a deleted range: stored, but its dirty window is dropped, the aggregates stay whole.
    await wh.writeBatch(batchOf([sim.message([reading('room-a', 'co2', T('2015-02-04T20:30:10Z'), 5000)])]));
    const pending = await resampleJob().runPending({ warehouse: wh, lake: null, clock: { now: () => Date.now() }, logger: silentLogger, dryRun: false });
    assert.equal(pending, null);
    assert.deepEqual(await tableRows(wh, 'readings_1h'), hourly);
    assert.equal(await count("SELECT count(*) AS n FROM dirty_windows WHERE level = '1m'"), 0);
  });
});
