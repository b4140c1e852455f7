/**
 * Lake benchmark: Parquet encodings, then the two raw partitionings ('date', 'date_sensor') on the
 * same fleet (1,000 sensors × temperature + humidity, one message a minute, spool-sized batches),
 * plus a once-a-day compacted copy of the 'date' lake for reference (what a compaction job gives).
 *
 *   node --import tsx bench/lake-partitioning.ts [--days 2] [--sensors 1000] [--batch 5000]
 *
 * Prints tables and writes bench/results/lake-partitioning.json. Times are wall-clock medians
 * except where marked CPU (process user+system time, steadier on a shared machine).
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { FsLake } from '../src/sinks/lake/fs-lake.js';
import { ParquetEncoder, type RawRow } from '../src/sinks/lake/parquet-encoder.js';
import { splitBatch } from '../src/sinks/lake/parquet-lake.js';
import { DAY_MS, fleetBatches, sensorName } from '../test/helpers/lake-batches.js';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '2' },
    sensors: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '5000' },
    out: { type: 'string', default: 'bench/results/lake-partitioning.json' },
    'query-timeout-s': { type: 'string', default: '120' },
  },
});
const DAYS = Number(args.days);
const SENSORS = Number(args.sensors);
const BATCH = Number(args.batch);
const START = Date.UTC(2024, 2, 1);
const ZSTD_LEVEL = 6;
const QUERY_TIMEOUT_S = Number(args['query-timeout-s']);
const fleet = (minutes: number) => fleetBatches({ sensors: SENSORS, startMs: START, minutes, recordsPerBatch: BATCH });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

// ---- 1. encodings --------------------------------------------------------------------------------

async function encodings() {
  const rowsOf = (minutes: number) => [...fleet(minutes)].flatMap((b) => [...splitBatch(b, [], 'date').raw.values()].flat());
  const sets: [string, RawRow[]][] = [
    [`one spool batch (${BATCH} messages)`, rowsOf(Math.ceil(BATCH / SENSORS)).slice(0, BATCH * 2)],
    ['one hour (a compacted file)', rowsOf(60)],
  ];
  const dir = await mkdtemp(join(tmpdir(), 'lake-enc-'));
  const out = [];
  for (const [set, rows] of sets) {
    for (const parquetVersion of ['V1', 'V2'] as const) {
      for (const zstdLevel of [1, 3, 6, 9, 19]) {
        const enc = await ParquetEncoder.create({ zstdLevel, parquetVersion });
        const path = join(dir, 'f.parquet');
        const cpu: number[] = [];
        for (let i = 0; i < 3; i++) {
          const c0 = process.cpuUsage();
          await enc.writeRaw([{ path, rows }]);
          cpu.push(cpuMs(c0));
        }
        enc.close();
        const bytes = (await stat(path)).size;
        out.push({ set, readings: rows.length, parquetVersion, zstdLevel, bytes, bytesPerReading: round(bytes / rows.length), encodeCpuMs: round(median(cpu), 1) });
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
  return out;
}

// ---- 2. partitionings ----------------------------------------------------------------------------

async function walk(dir: string): Promise<{ files: number; bytes: number; diskBytes: number; dirs: number }> {
  const acc = { files: 0, bytes: 0, diskBytes: 0, dirs: 0 };
  const visit = async (d: string): Promise<void> => {
    acc.dirs++;
    const entries = await readdir(d, { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const p = join(d, e.name);
        if (e.isDirectory()) return visit(p);
        if (!e.name.endsWith('.parquet')) return;
        const s = await stat(p);
        acc.files++;
        acc.bytes += s.size;
        acc.diskBytes += s.blocks * 512;
      }),
    );
  };
  await visit(dir);
  return acc;
}

interface QueryTiming {
  firstMs: number;
  medianMs: number | null;
  runs: number;
  timedOut: boolean;
  peakRssMB: number;
  rows: unknown;
}

/** Runs a query with a time budget (DuckDB interrupt) while sampling the process RSS. */
async function timed(conn: DuckDBConnection, q: string): Promise<{ ms: number; timedOut: boolean; peakRss: number; rows: unknown }> {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 200);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, QUERY_TIMEOUT_S * 1000);
  const t0 = performance.now();
  try {
    const r = await conn.runAndReadAll(q);
    return { ms: performance.now() - t0, timedOut: false, peakRss, rows: r.getRowObjectsJson() };
  } catch (err) {
    if (!timedOut) throw err;
    return { ms: performance.now() - t0, timedOut: true, peakRss, rows: null };
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
  }
}

async function queries(root: string, layout: string) {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const day = new Date(START + DAY_MS).toISOString().slice(0, 10);
  const sensor = sensorName(Math.min(42, SENSORS - 1));
  const all = sql(join(root, 'raw', '**', '*.parquet'));
  const targeted = layout === 'date_sensor' ? join(root, 'raw', `date=${day}`, `sensor_id=${sensor}`, '*.parquet') : join(root, 'raw', `date=${day}`, '*.parquet');
  const qs = {
    fullScanAggregate: `SELECT metric, count(*) AS n, avg(value) AS avg, min(value) AS min, max(value) AS max FROM read_parquet(${all}, hive_partitioning = true) GROUP BY metric`,
    sensorDayHiveFilter: `SELECT count(*) AS n, avg(value) AS avg FROM read_parquet(${all}, hive_partitioning = true) WHERE date = DATE '${day}' AND sensor_id = '${sensor}'`,
    sensorDayPath: `SELECT count(*) AS n, avg(value) AS avg FROM read_parquet(${sql(targeted)}) WHERE sensor_id = '${sensor}'`,
  };
  const out: Record<string, QueryTiming> = {};
  for (const [name, q] of Object.entries(qs)) {
    const first = await timed(conn, q);
    const times: number[] = [];
    let peakRss = first.peakRss;
    // fast queries: five more runs for a median; slow ones (seconds, listing every file) are reported once
    for (let i = 0; i < 5 && !first.timedOut && first.ms < 5000; i++) {
      const r = await timed(conn, q);
      times.push(r.ms);
      peakRss = Math.max(peakRss, r.peakRss);
    }
    out[name] = {
      firstMs: round(first.ms, 1),
      medianMs: times.length ? round(median(times), 1) : null,
      runs: 1 + times.length,
      timedOut: first.timedOut,
      peakRssMB: Math.round(peakRss / 1e6),
      rows: first.rows,
    };
    process.stderr.write(`  ${layout}: ${name} ${first.timedOut ? `interrupted after ${QUERY_TIMEOUT_S} s` : `${round(first.ms)} ms`}\n`);
  }
  conn.closeSync();
  db.closeSync();
  return out;
}

async function writeLake(root: string, partitioning: 'date' | 'date_sensor') {
  const lake = await FsLake.open({ dir: root, partitioning, zstdLevel: ZSTD_LEVEL });
  const wall: number[] = [];
  let readings = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of fleet(DAYS * 1440)) {
    const t = performance.now();
    await lake.writeBatch(b, []);
    wall.push(performance.now() - t);
    readings += b.records.length * 2;
    if (wall.length % 50 === 0) process.stderr.write(`  ${partitioning}: ${wall.length} batches\n`);
  }
  const writeTotalS = (performance.now() - t0) / 1000;
  const writeCpuS = cpuMs(c0) / 1000;
  await lake.close();
  const o0 = performance.now();
  await (await FsLake.open({ dir: root, partitioning, zstdLevel: ZSTD_LEVEL })).close();
  return { readings, batches: wall.length, writeTotalS: round(writeTotalS, 1), writeCpuS: round(writeCpuS, 1), writeBatchMedianMs: round(median(wall), 1), openScanMs: round(performance.now() - o0, 1) };
}

/** What a compaction job would leave: one file per day, same encoding. */
async function compactByDay(from: string, to: string) {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  for (let d = 0; d < DAYS; d++) {
    const day = new Date(START + d * DAY_MS).toISOString().slice(0, 10);
    const target = join(to, 'raw', `date=${day}`, 'part-0000000000000000.parquet');
    await mkdir(dirname(target), { recursive: true });
    await conn.run(
      `COPY (SELECT * FROM read_parquet(${sql(join(from, 'raw', `date=${day}`, '*.parquet'))}) ORDER BY sensor_id, metric, ts) ` +
        `TO ${sql(target)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${ZSTD_LEVEL}, ROW_GROUP_SIZE 122880)`,
    );
  }
  conn.closeSync();
  db.closeSync();
}

function summaryRow(l: Record<string, unknown>) {
  const q = l.queries as Record<string, QueryTiming>;
  const t = (x: QueryTiming) => (x.timedOut ? `> ${QUERY_TIMEOUT_S} s (interrupted)` : (x.medianMs ?? x.firstMs));
  return {
    layout: l.layout,
    files: l.files,
    dirs: l.dirs,
    'MB (file sizes)': round((l.bytes as number) / 1e6, 1),
    'MB on disk': round((l.diskBytes as number) / 1e6, 1),
    'B/reading': l.bytesPerReading,
    'B/reading on disk': l.diskBytesPerReading,
    'write s': l.writeTotalS ?? '-',
    'batch ms (median)': l.writeBatchMedianMs ?? '-',
    'open ms': l.openScanMs ?? '-',
    'full scan ms': t(q.fullScanAggregate),
    'sensor-day ms (hive filter)': t(q.sensorDayHiveFilter),
    'sensor-day ms (path)': t(q.sensorDayPath),
  };
}

async function main() {
  const env = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAvgAtStart: loadavg().map((x) => round(x)) };
  console.log(`lake benchmark: ${SENSORS} sensors × 2 metrics, ${DAYS} day(s) at 1/min, batches of ${BATCH} messages`, env);

  const enc = await encodings();
  console.log('\nencodings (bytes per reading, CPU ms to encode):');
  console.table(enc.map((e) => ({ set: e.set, version: e.parquetVersion, zstd: e.zstdLevel, 'B/reading': e.bytesPerReading, 'cpu ms': e.encodeCpuMs })));

  const layouts: Record<string, unknown>[] = [];
  // saved after every layout, so a long run that is stopped still leaves its figures
  const save = async () => {
    const result = {
      generatedAt: new Date().toISOString(),
      params: { sensors: SENSORS, metrics: 2, days: DAYS, batchRecords: BATCH, zstdLevel: ZSTD_LEVEL, queryTimeoutS: QUERY_TIMEOUT_S },
      env: { ...env, loadAvgAtEnd: loadavg().map((x) => round(x)) },
      encodings: enc,
      layouts,
    };
    await mkdir(dirname(args.out!), { recursive: true });
    await writeFile(args.out!, JSON.stringify(result, null, 2) + '\n');
  };
  const add = async (l: Record<string, unknown>) => {
    layouts.push(l);
    console.table([summaryRow(l)]);
    await save();
  };

  const base = await mkdtemp(join(tmpdir(), 'lake-bench-'));
  try {
    for (const partitioning of ['date', 'date_sensor'] as const) {
      const root = join(base, partitioning);
      const write = await writeLake(root, partitioning);
      const files = await walk(join(root, 'raw'));
      const perReading = (b: number) => round(b / write.readings);
      await add({ layout: partitioning, ...write, ...files, bytesPerReading: perReading(files.bytes), diskBytesPerReading: perReading(files.diskBytes), queries: await queries(root, partitioning) });
      if (partitioning === 'date') {
        const compacted = join(base, 'compacted');
        await compactByDay(root, compacted);
        const cfiles = await walk(join(compacted, 'raw'));
        await add({ layout: 'date, compacted 1 file/day (reference)', readings: write.readings, ...cfiles, bytesPerReading: perReading(cfiles.bytes), diskBytesPerReading: perReading(cfiles.diskBytes), queries: await queries(compacted, 'date') });
        await rm(compacted, { recursive: true, force: true });
      }
      await rm(root, { recursive: true, force: true });
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  console.log('\npartitionings:');
  console.table(layouts.map(summaryRow));
  console.log(`\nwrote ${args.out}`);
}

await main();
