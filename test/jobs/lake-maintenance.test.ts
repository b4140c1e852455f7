// Lake compaction and archiving on real Parquet files: rows read back by hyparquet (independent of
// DuckDB) over the files the manifest makes live, and by the DuckDB reader rule from docs/lake.md.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { JobContext } from '../../src/core/jobs.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { silentLogger } from '../../src/core/types.js';
import { LakeArchiveJob, LakeCompactJob } from '../../src/jobs/lake-jobs.js';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';
import { readManifest } from '../../src/sinks/lake/manifest.js';
import type { MaintenanceStep } from '../../src/sinks/lake/maintenance.js';
import { FsLakeStore } from '../../src/sinks/lake/store.js';
import { batchOf, fleetBatches, message, reading } from '../helpers/lake-batches.js';
import { countWithDocsRule, fingerprint, readLive, readPaths, rowGroupStats, snapshot } from '../helpers/lake-read.js';

const DAY = 86_400_000;
const D1 = Date.UTC(2024, 2, 1);
const SENSORS = 4;
const GRACE = 15 * 60_000;

let duck: DuckDBInstance;
let conn: DuckDBConnection;
before(async () => {
  duck = await DuckDBInstance.create(':memory:');
  conn = await duck.connect();
});
after(() => {
  conn.closeSync();
  duck.closeSync();
});

/** Three days of a small fleet in batches of about 83 minutes (18 small files a day), plus quarantined items on day 1. */
async function buildLake(sensors = SENSORS): Promise<{ root: string; dir: string; lake: FsLake }> {
  const root = await mkdtemp(join(tmpdir(), 'sensorpipe-lake-maint-'));
  const dir = join(root, 'lake');
  const lake = await FsLake.open({ dir, partitioning: 'date', zstdLevel: 6 });
  for (const b of fleetBatches({ sensors, startMs: D1, minutes: 3 * 1440, recordsPerBatch: Math.round((sensors * 500) / 6) })) await lake.writeBatch(b, []);
  for (let i = 0; i < 3; i++) {
    const t = D1 + 3600_000 * (i + 1);
    await lake.writeBatch(
      batchOf([message(900_000 + i, { receivedAt: t, quarantined: [{ reason: 'out_of_range', detail: `humidity ${140 + i} above max 100`, sensorId: 'sensor-0001', metric: 'humidity', ts: t, payload: String(140 + i) }] })]),
      [],
    );
  }
  return { root, dir, lake };
}

function ctxOf(lake: FsLake, now: number, dryRun = false): JobContext {
  // The lake jobs never touch the warehouse; the scheduler records their runs there (see jobs-cli tests).
  return { warehouse: undefined as unknown as Warehouse, lake, clock: { now: () => now }, logger: silentLogger, dryRun };
}

const WINDOW = { start: D1 + DAY, end: D1 + 2 * DAY }; // days 1 and 2 are closed, day 3 is open
const NOW = D1 + 3 * DAY;

function compactJob(onStep?: (step: MaintenanceStep) => Promise<void>, rowGroupSize?: number) {
  return new LakeCompactJob({ minFiles: 4, smallFileBytes: 64 << 20, zstdLevel: 6, graceMs: GRACE, rowGroupSize, hooks: onStep ? { onStep } : undefined });
}

const liveIn = (files: string[], day: string) => files.filter((f) => f.includes(`date=${day}/`));

describe('lake_compact', () => {
  let root: string;
  let dir: string;
  let lake: FsLake;
  let before_: { files: string[]; rows: Record<string, unknown>[] };
  before(async () => {
    ({ root, dir, lake } = await buildLake());
    before_ = await readLive(dir, 'raw');
  });
  after(async () => {
    await lake.close();
    await rm(root, { recursive: true, force: true });
  });

  test('a dry run reports the closed partitions and changes nothing', async () => {
    const snap = snapshot(dir);
    const r = await compactJob().run(WINDOW, ctxOf(lake, NOW, true));
    assert.deepEqual(snapshot(dir), snap, 'no file in the lake changed, manifest included');
    const parts = r.detail?.partitionsDetail as { dir: string; files: number; rows: number }[];
    assert.deepEqual(parts.map((p) => p.dir), ['raw/date=2024-03-01', 'raw/date=2024-03-02'], 'the open day and the 3-file quarantine partition (below minFiles) stay');
    assert.equal(parts[0].files, liveIn(before_.files, '2024-03-01').length);
    assert.equal(parts[0].rows, SENSORS * 1440 * 2);
  });

  test('closed partitions become one sorted file with row-group statistics; every row stays exactly once', async () => {
    const job = compactJob(undefined, 2048);
    const r = await job.run(WINDOW, ctxOf(lake, NOW));
    assert.equal(r.rows, SENSORS * 1440 * 2 * 2);
    const afterRun = await readLive(dir, 'raw');
    assert.deepEqual(fingerprint(afterRun.rows), fingerprint(before_.rows), 'same row multiset, read by hyparquet');
    assert.ok(liveIn(before_.files, '2024-03-01').length >= 15, 'day 1 had many small files');
    assert.equal(liveIn(afterRun.files, '2024-03-01').length, 1);
    assert.equal(liveIn(afterRun.files, '2024-03-02').length, 1);
    assert.deepEqual(liveIn(afterRun.files, '2024-03-03'), liveIn(before_.files, '2024-03-03'), 'the open day is untouched');
    assert.equal(await countWithDocsRule(conn, dir), before_.rows.length, 'the DuckDB reader rule from docs/lake.md counts every row once');

    const file = join(dir, liveIn(afterRun.files, '2024-03-01')[0]);
    const rows = await readPaths(dir, [liveIn(afterRun.files, '2024-03-01')[0]]);
    const key = (x: Record<string, unknown>) => [x.sensor_id, x.metric, String(x.ts).padStart(16, '0')].join('|');
    for (let i = 1; i < rows.length; i++) assert.ok(key(rows[i - 1]) <= key(rows[i]), `row ${i} is out of (sensor_id, metric, ts) order`);
    const stats = await rowGroupStats(file, 'sensor_id');
    assert.equal(stats.length, Math.ceil((SENSORS * 2880) / 2048), 'row groups of 2,048 rows');
    assert.equal(stats.reduce((n, g) => n + g.rows, 0), SENSORS * 2880);
    for (const [i, g] of stats.entries()) {
      assert.equal(typeof g.min, 'string', `row group ${i} has a sensor_id min`);
      assert.equal(typeof g.max, 'string', `row group ${i} has a sensor_id max`);
      if (i > 0) assert.ok(String(stats[i - 1].max) <= String(g.min), 'sorted file: row groups cover increasing sensor ranges');
    }
    const tsStats = await rowGroupStats(file, 'ts');
    assert.ok(tsStats.every((g) => g.min !== undefined && g.max !== undefined), 'ts has min/max in every row group');
  });

  test('a re-run changes nothing; replaced files are deleted only after the grace period', async () => {
    const snap = snapshot(dir);
    const again = await compactJob().run(WINDOW, ctxOf(lake, NOW + 60_000));
    assert.equal(again.rows, 0);
    assert.deepEqual(snapshot(dir), snap, 'idempotent: within the grace period nothing is deleted');
    assert.equal(await compactJob().runPending(ctxOf(lake, NOW + GRACE - 1)), null, 'the hourly firing between windows finds nothing due yet');
    assert.deepEqual(snapshot(dir), snap);
    const swept = await compactJob().runPending(ctxOf(lake, NOW + GRACE + 1));
    assert.ok((swept?.detail?.replacedFilesDeleted as number) >= 30, 'the hourly firing deletes the replaced files once their grace period is over');
    const naive = (await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${dir}/raw/**/*.parquet')`)).getRowObjectsJS();
    assert.equal(Number(naive[0].n), before_.rows.length, 'after the sweep even a plain glob sees every row once');
    assert.deepEqual(fingerprint((await readLive(dir, 'raw')).rows), fingerprint(before_.rows));
  });

  test('late data after compaction is live; a replayed batch the compaction already merged stays hidden', async () => {
    const late = batchOf([message(800_000, { receivedAt: NOW, readings: [reading('sensor-0001', 'temperature', D1 + 5 * 60_000 + 1, 99.5, null)] })]);
    await lake.writeBatch(late, []);
    const m = await readManifest(new FsLakeStore(dir));
    const through = m.partitions.find((p) => p.dir === 'raw/date=2024-03-01')!.through;
    // The writer replays a range after a crash: same name, same rows as a file the compaction consumed.
    const replay = [...fleetBatches({ sensors: SENSORS, startMs: D1, minutes: 3 * 1440, recordsPerBatch: Math.round((SENSORS * 500) / 6) })].find((b) => b.fromOffset <= through && b.toOffset >= through);
    assert.ok(replay, 'found the batch that wrote the last merged file');
    await lake.writeBatch(replay, []);
    const live = await readLive(dir, 'raw');
    assert.equal(live.rows.length, before_.rows.length + 1);
    assert.equal(await countWithDocsRule(conn, dir), before_.rows.length + 1);
  });
});

describe('lake_compact and a concurrent reader', () => {
  test('a reader at every step of the rewrite and sweep counts every row exactly once', async () => {
    const { root, dir, lake } = await buildLake(1);
    try {
      const expected = fingerprint((await readLive(dir, 'raw')).rows);
      const total = expected.length;
      const seen: string[] = [];
      // Readers that snapshot (manifest, then listing) at one step and read only after everything, sweeps included.
      const late: { step: string; files: string[] }[] = [];
      const onStep = async (step: MaintenanceStep) => {
        seen.push(step);
        const now = await readLive(dir, 'raw');
        assert.deepEqual(fingerprint(now.rows), expected, `hyparquet reader at ${step}`);
        assert.equal(await countWithDocsRule(conn, dir), total, `DuckDB reader rule at ${step}`);
        late.push({ step, files: now.files });
        if (step === 'lake.rewrite.after-publish') {
          // Without the rule both sets are visible here: what the manifest protects readers from.
          const naive = (await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${dir}/raw/**/*.parquet')`)).getRowObjectsJS();
          assert.ok(Number(naive[0].n) > total, 'a plain glob sees old and new files at once');
        }
      };
      await compactJob(onStep).run(WINDOW, ctxOf(lake, NOW));
      await compactJob(onStep).run(WINDOW, ctxOf(lake, NOW + GRACE - 1)); // within grace: nothing deleted
      for (const r of late) assert.deepEqual(fingerprint(await readPaths(dir, r.files)), expected, `reader that started at ${r.step} and finished within the grace period`);
      await compactJob(onStep).run(WINDOW, ctxOf(lake, NOW + GRACE)); // deletes replaced files
      for (const step of ['lake.rewrite.before-publish', 'lake.rewrite.after-publish', 'lake.rewrite.after-manifest', 'lake.sweep.before-delete', 'lake.sweep.after-delete']) {
        assert.ok(seen.includes(step), `the reader ran at ${step}`);
      }
      assert.deepEqual(fingerprint((await readLive(dir, 'raw')).rows), expected);
    } finally {
      await lake.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('lake_compact and the writer at the same time', () => {
  test('a late batch published into the partition while it is being merged stays live, once', async () => {
    const { root, dir, lake } = await buildLake(1);
    try {
      const before = (await readLive(dir, 'raw')).rows.length;
      let wrote = false;
      const late = batchOf([message(950_000, { receivedAt: NOW, readings: [reading('sensor-0000', 'temperature', D1 + 7 * 60_000 + 3, 42.5, null)] })]);
      const onStep = async (step: MaintenanceStep) => {
        if (step !== 'lake.rewrite.before-publish' || wrote) return;
        wrote = true; // the writer publishes after the merge read its inputs, before the manifest swap
        await lake.writeBatch(late, []);
      };
      await compactJob(onStep).run(WINDOW, ctxOf(lake, NOW));
      const after = await readLive(dir, 'raw');
      assert.equal(after.rows.length, before + 1);
      assert.equal(after.rows.filter((r) => r.value === 42.5).length, 1);
      assert.deepEqual(liveIn(after.files, '2024-03-01').map((f) => f.split('/').pop()!.replace(/g\d+/, 'g*')), ['compact-g*-0000.parquet', 'part-0000000000950000.parquet']);
    } finally {
      await lake.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('lake_archive', () => {
  let root: string;
  let dir: string;
  let lake: FsLake;
  before(async () => {
    ({ root, dir, lake } = await buildLake());
  });
  after(async () => {
    await lake.close();
    await rm(root, { recursive: true, force: true });
  });
  const job = (afterDays: number | null) => new LakeArchiveJob({ afterDays, zstdLevel: 19, graceMs: GRACE });
  // Window [day 3, day 4) with afterDays 2: partitions that ended by day 2 00:00 move (day 1 only).
  const W = { start: D1 + 2 * DAY, end: D1 + 3 * DAY };

  test('afterDays null: the run is skipped and says how to turn it on', async () => {
    const r = await job(null).run(W, ctxOf(lake, NOW));
    assert.match(String(r.detail?.skipped), /lake.archive.afterDays is null/);
  });

  test('a dry run lists partitions, files and bytes before and after, and changes nothing', async () => {
    const snap = snapshot(dir);
    const r = await job(2).run(W, ctxOf(lake, NOW, true));
    assert.deepEqual(snapshot(dir), snap);
    const parts = r.detail?.partitionsDetail as { dir: string; to: string; files: number; bytes: number; bytesAfter: number }[];
    assert.deepEqual(parts.map((p) => [p.dir, p.to]), [
      ['raw/date=2024-03-01', 'archive/raw/date=2024-03-01'],
      ['quarantine/date=2024-03-01/reason=out_of_range', 'archive/quarantine/date=2024-03-01/reason=out_of_range'],
    ]);
    assert.ok(parts.every((p) => p.files > 0 && p.bytes > 0 && p.bytesAfter > 0));
    assert.ok(parts[0].bytesAfter < parts[0].bytes, 'merged and at zstd 19, day 1 shrinks');
    assert.match(String(r.detail?.estimate), /re-encodes raw\/date=2024-03-01 at zstd 19/);
  });

  test('day 1 moves to archive/ with the same rows; raw and quarantine no longer show it; a re-run changes nothing', async () => {
    const raw = await readLive(dir, 'raw');
    const quarantine = await readLive(dir, 'quarantine');
    const day1 = raw.rows.filter((r) => (r.ts as number) < D1 + DAY);
    await job(2).run(W, ctxOf(lake, NOW));
    const archived = await readLive(dir, 'archive/raw');
    assert.deepEqual(fingerprint(archived.rows), fingerprint(day1), 'archive/raw holds day 1 exactly');
    assert.deepEqual(archived.files.map((f) => f.replace(/compact-g\d+/, 'compact-g*')), ['archive/raw/date=2024-03-01/compact-g*-0000.parquet']);
    const rawAfter = await readLive(dir, 'raw');
    assert.deepEqual(liveIn(rawAfter.files, '2024-03-01'), []);
    assert.deepEqual(fingerprint(rawAfter.rows), fingerprint(raw.rows.filter((r) => (r.ts as number) >= D1 + DAY)));
    assert.deepEqual(fingerprint((await readLive(dir, 'archive/quarantine')).rows), fingerprint(quarantine.rows));
    assert.deepEqual((await readLive(dir, 'quarantine')).files, []);
    const dd = (await conn.runAndReadAll(`SELECT count(*) AS n, sum(value) AS s FROM read_parquet('${dir}/archive/raw/**/*.parquet')`)).getRowObjectsJS()[0];
    assert.equal(Number(dd.n), day1.length, 'DuckDB reads the archived file');
    assert.ok(Math.abs(Number(dd.s) - day1.reduce((n, r) => n + (r.value as number), 0)) < 1e-6);

    const snap = snapshot(dir);
    const again = await job(2).run(W, ctxOf(lake, NOW + 1));
    assert.equal(again.rows, 0);
    assert.deepEqual(snapshot(dir), snap, 'idempotent');
    await job(2).run(W, ctxOf(lake, NOW + GRACE));
    assert.deepEqual(snapshot(join(dir, 'raw')).filter((f) => f.startsWith('date=2024-03-01/')), [], 'day 1 raw files deleted after the grace period');
    assert.deepEqual(fingerprint((await readLive(dir, 'archive/raw')).rows), fingerprint(day1));
  });

  test('late data for an archived day lands in raw/ and joins the archive at the next run', async () => {
    const archivedBefore = await readLive(dir, 'archive/raw');
    await lake.writeBatch(batchOf([message(990_000, { receivedAt: NOW, readings: [reading('sensor-0002', 'humidity', D1 + 60_000 + 5, 55.5, null)] })]), []);
    assert.equal(liveIn((await readLive(dir, 'raw')).files, '2024-03-01').length, 1, 'the late file is live in raw/');
    await job(2).run(W, ctxOf(lake, NOW + 2 * GRACE));
    const archived = await readLive(dir, 'archive/raw');
    assert.equal(archived.files.length, 2, 'the earlier archive file is kept, the late rows get their own');
    assert.equal(archived.rows.length, archivedBefore.rows.length + 1);
    assert.deepEqual(liveIn((await readLive(dir, 'raw')).files, '2024-03-01'), []);
  });
});
