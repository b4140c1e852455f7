/**
 * Lake compaction and archive benchmark: one day of a fleet (default 100 sensors × temperature +
 * humidity, one message a minute) written by FsLake in small writer batches, then `lake_compact`
 * and `lake_archive` run on it. Reports files and bytes of the live raw data before and after, the
 * jobs' wall and CPU time, and a one-sensor query before and after; checks that the row multiset
 * did not change (DuckDB, over the live files).
 *
 *   node --import tsx bench/lake-compaction.ts [--sensors 100] [--batch 100]
 *
 * Writes bench/results/lake-compaction.json. Stays well under 2 minutes with the defaults.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { JobContext } from '../src/core/jobs.js';
import type { Warehouse } from '../src/core/sinks.js';
import { silentLogger } from '../src/core/types.js';
import { LakeArchiveJob, LakeCompactJob } from '../src/jobs/lake-jobs.js';
import { FsLake } from '../src/sinks/lake/fs-lake.js';
import { liveFiles } from '../src/sinks/lake/manifest.js';
import { DAY_MS, fleetBatches } from '../test/helpers/lake-batches.js';

const { values: args } = parseArgs({
  options: {
    sensors: { type: 'string', default: '100' },
    batch: { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/results/lake-compaction.json' },
  },
});
const SENSORS = Number(args.sensors);
const BATCH = Number(args.batch);
const START = Date.UTC(2024, 2, 1);
const GRACE_MS = 900_000;
const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return Math.round((u.user + u.system) / 1000);
};

function ctx(lake: FsLake, now: number): JobContext {
  return { warehouse: undefined as unknown as Warehouse, lake, clock: { now: () => now }, logger: silentLogger, dryRun: false };
}

async function measure(conn: DuckDBConnection, lake: FsLake, prefix: string) {
  const files = await liveFiles(lake.store, prefix);
  const info = new Map((await lake.store.listInfo(prefix)).map((f) => [f.relPath, f.bytes]));
  const paths = `[${files.map((f) => sql(join(lake.dir, f))).join(', ')}]`;
  const fingerprint = (await conn.runAndReadAll(
    `SELECT count(*) AS n, sum(hash(sensor_id, metric, ts, value, seq, received_at, spool_offset)) AS h FROM read_parquet(${paths}, hive_partitioning = false)`,
  )).getRowObjectsJS()[0];
  const q = `SELECT count(*), avg(value) FROM read_parquet(${paths}, hive_partitioning = false) WHERE sensor_id = 'sensor-0042' AND metric = 'temperature'`;
  await conn.run(q);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await conn.run(q);
    times.push(performance.now() - t0);
  }
  return {
    files: files.length,
    bytes: files.reduce((n, f) => n + (info.get(f) ?? 0), 0),
    rows: Number(fingerprint.n),
    rowHash: String(fingerprint.h),
    oneSensorQueryMs: Math.round([...times].sort((a, b) => a - b)[2] * 10) / 10,
  };
}

const root = await mkdtemp(join(tmpdir(), 'lake-compaction-bench-'));
const duck = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await duck.connect();
try {
  const lake = await FsLake.open({ dir: join(root, 'lake'), partitioning: 'date', zstdLevel: 6 });
  let t0 = performance.now();
  let batches = 0;
  for (const b of fleetBatches({ sensors: SENSORS, startMs: START, minutes: 1440, recordsPerBatch: BATCH })) {
    await lake.writeBatch(b, []);
    batches++;
  }
  const writeMs = Math.round(performance.now() - t0);
  const before = await measure(conn, lake, 'raw');

  const window = { start: START, end: START + DAY_MS };
  const compact = new LakeCompactJob({ minFiles: 4, smallFileBytes: 64 << 20, zstdLevel: 6, graceMs: GRACE_MS });
  let cpu = process.cpuUsage();
  t0 = performance.now();
  await compact.run(window, ctx(lake, START + DAY_MS));
  const compactMs = Math.round(performance.now() - t0);
  const compactCpuMs = cpuMs(cpu);
  const after = await measure(conn, lake, 'raw');
  await compact.run(window, ctx(lake, START + DAY_MS + GRACE_MS)); // sweep: replaced files deleted

  const archive = new LakeArchiveJob({ afterDays: 1, zstdLevel: 19, graceMs: GRACE_MS });
  cpu = process.cpuUsage();
  t0 = performance.now();
  await archive.run({ start: START + DAY_MS, end: START + 2 * DAY_MS }, ctx(lake, START + 2 * DAY_MS));
  const archiveMs = Math.round(performance.now() - t0);
  const archiveCpuMs = cpuMs(cpu);
  const archived = await measure(conn, lake, 'archive/raw');
  await lake.close();

  if (after.rows !== before.rows || after.rowHash !== before.rowHash) throw new Error(`compaction changed the rows: ${JSON.stringify({ before, after })}`);
  if (archived.rows !== before.rows || archived.rowHash !== before.rowHash) throw new Error(`archiving changed the rows: ${JSON.stringify({ before, archived })}`);
  const result = {
    fleet: { sensors: SENSORS, metrics: 2, intervalS: 60, day: '2024-03-01', readings: before.rows, batchMessages: BATCH, batches },
    machine: { cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version },
    write: { ms: writeMs },
    beforeCompaction: { files: before.files, bytes: before.bytes, bytesPerReading: +(before.bytes / before.rows).toFixed(2), oneSensorQueryMs: before.oneSensorQueryMs },
    afterCompaction: { files: after.files, bytes: after.bytes, bytesPerReading: +(after.bytes / after.rows).toFixed(2), oneSensorQueryMs: after.oneSensorQueryMs, jobMs: compactMs, jobCpuMs: compactCpuMs, zstdLevel: 6 },
    archived: { files: archived.files, bytes: archived.bytes, bytesPerReading: +(archived.bytes / archived.rows).toFixed(2), jobMs: archiveMs, jobCpuMs: archiveCpuMs, zstdLevel: 19 },
    rowsIdentical: true,
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir(dirname(args.out!), { recursive: true });
  await writeFile(args.out!, JSON.stringify(result, null, 2) + '\n');
} finally {
  conn.closeSync();
  duck.closeSync();
  await rm(root, { recursive: true, force: true });
}
