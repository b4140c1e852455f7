/**
 * How long the aggregate jobs take per window at a realistic load: one hour of S sensors × 2
 * metrics at 1 Hz (default S = 200: 1.44 M readings), in a DuckDB file.
 *
 *   node --import tsx bench/jobs-aggregate.ts [sensors]
 *
 * Readings are inserted with one SQL statement (DuckDB's range(); the write path has its own
 * bench). Then: resample of the hour, rollup_1h of the hour, rollup_1d of the day, a re-run of the
 * resample window (idempotent replace), and a late-data pass after 100 late readings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/core/types.js';
import { resampleJob } from '../src/jobs/resample.js';
import { rollup1dJob, rollup1hJob } from '../src/jobs/rollup.js';
import { DuckDbWarehouse } from '../src/sinks/warehouse/duckdb-warehouse.js';

const sensors = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'sp-bench-jobs-'));
const w = await DuckDbWarehouse.open({ path: join(dir, 'w.duckdb'), metricDefaults: {} });
const H = Date.UTC(2024, 4, 1, 12);
const n = sensors * 2 * 3600;
await w.jobTransaction(async (tx) => {
  await tx.run(
    `INSERT INTO readings (sensor_id, metric, ts, value, received_at, source, seq, spool_offset)
     SELECT 's' || (i % ${sensors}), CASE WHEN (i // ${sensors}) % 2 = 0 THEN 'temperature' ELSE 'humidity' END,
       TIMESTAMP '2024-05-01 12:00:00' + to_milliseconds(CAST((i // ${sensors * 2}) * 1000 AS BIGINT)), random() * 30,
       TIMESTAMP '2024-05-01 12:00:00' + to_milliseconds(CAST((i // ${sensors * 2}) * 1000 + 500 AS BIGINT)), 'bench', NULL, i // 1000
     FROM range(0, ${n}) t(i)`,
  );
  await tx.run(`INSERT INTO sink_offsets VALUES ('warehouse', ${Math.floor(n / 1000)})`);
});
const ctx = { warehouse: w, lake: null, clock: { now: () => H + 2 * 3600_000 }, logger: silentLogger, dryRun: false };
const time = async (label: string, fn: () => Promise<{ rows: number }>) => {
  const t0 = performance.now();
  const r = await fn();
  console.log(`${label.padEnd(34)} ${(performance.now() - t0).toFixed(0).padStart(6)} ms  ${r.rows} rows`);
};
console.log(`${n.toLocaleString('en')} readings (${sensors} sensors × 2 metrics × 3600 s)`);
const hour = { start: H, end: H + 3600_000 };
await time('resample (1 h window)', () => resampleJob().run(hour, ctx));
await time('rollup_1h (1 h window)', () => rollup1hJob().run(hour, ctx));
await time('rollup_1d (1 d window)', () => rollup1dJob().run({ start: Date.UTC(2024, 4, 1), end: Date.UTC(2024, 4, 2) }, ctx));
await time('resample again (replaces the hour)', () => resampleJob().run(hour, ctx));
await w.jobTransaction(async (tx) => {
  await tx.run(
    `INSERT INTO readings SELECT 's' || i, 'temperature', TIMESTAMP '2024-05-01 12:30:00.250', 99, TIMESTAMP '2024-05-01 14:00:00', 'bench', NULL, ${Math.floor(n / 1000) + 1}
     FROM range(0, 100) t(i)`,
  );
  await tx.run(`UPDATE sink_offsets SET committed_offset = ${Math.floor(n / 1000) + 1}`);
});
await time('resample pending (100 late readings)', async () => (await resampleJob().runPending(ctx)) ?? { rows: 0 });
await time('rollup_1h pending', async () => (await rollup1hJob().runPending(ctx)) ?? { rows: 0 });
await time('rollup_1d pending', async () => (await rollup1dJob().runPending(ctx)) ?? { rows: 0 });
await w.close();
rmSync(dir, { recursive: true, force: true });
