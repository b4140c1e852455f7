/**
 * How long the weekly digest takes on a larger fleet.
 *
 *   node --import tsx bench/digest-scale.ts [--sensors=200] [--metrics=2]
 *
 * Fills a fresh DuckDB warehouse with two ISO weeks (2026-W47 and W48) of one reading per minute
 * per sensor and metric (generated in SQL, bypassing the ingest path: this measures the digest's
 * queries, not ingest), every tenth sensor silent for the last two days, then times
 * computeDigest (both weeks' queries) and writeDigest (rendering and atomic writes).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { computeDigest, digestThresholds, parseIsoWeek, writeDigest } from '../src/monitoring/digest/index.js';
import { DuckDbWarehouse } from '../src/sinks/warehouse/duckdb-warehouse.js';

const arg = (name: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
const sensors = arg('sensors', 200);
const metrics = arg('metrics', 2);
const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-digest-bench-'));
const week = parseIsoWeek('2026-W48')!;
const from = week.start - 7 * 86_400_000;
try {
  const w = await DuckDbWarehouse.open({ path: join(dir, 'w.duckdb'), metricDefaults: {}, clock: { now: () => from } });
  for (let i = 0; i < sensors; i++) {
    await w.upsertSensor({ sensorId: `s-${i}`, location: `site-${i % 10}`, type: null, expectedIntervalS: 60, metrics: {} });
  }
  const t0 = performance.now();
  const silentFrom = new Date(week.end - 2 * 86_400_000).toISOString().replace('T', ' ').replace('Z', '');
  await w.jobTransaction((tx) =>
    tx.run(
      `INSERT INTO readings
       SELECT 's-' || s AS sensor_id, 'm' || m AS metric, t AS ts, 20 + sin(epoch(t) / 3600.0) + s * 0.01 AS value,
              t + INTERVAL 2 SECOND AS received_at, 'mqtt' AS source, NULL AS seq, 0 AS spool_offset
       FROM range(${sensors}) r1(s), range(${metrics}) r2(m),
            range(TIMESTAMP '${new Date(from).toISOString().slice(0, 10)}', TIMESTAMP '${new Date(week.end).toISOString().slice(0, 10)}', INTERVAL 1 MINUTE) r3(t)
       WHERE NOT (s % 10 = 0 AND t >= TIMESTAMP '${silentFrom}')`,
    ),
  );
  const rows = Number((await w.query('SELECT count(*) AS n FROM readings')).rows[0].n);
  console.log(`filled ${rows.toLocaleString('en-US')} readings (${sensors} sensors x ${metrics} metrics x 2 weeks) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = performance.now();
  const digest = await computeDigest(w, week, week.end + 6 * 3_600_000, digestThresholds(configSchema.parse({})));
  const t2 = performance.now();
  const files = await writeDigest(join(dir, 'lake'), digest);
  const t3 = performance.now();
  console.log(`computeDigest ${((t2 - t1) / 1000).toFixed(2)} s, writeDigest ${((t3 - t2) / 1000).toFixed(2)} s`);
  console.log(`digest.html ${statSync(files.html).size.toLocaleString('en-US')} B, digest.json ${statSync(files.json).size.toLocaleString('en-US')} B, ${digest.problemCount} problems, top: ${digest.topProblems[0]?.title}`);
  await w.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
