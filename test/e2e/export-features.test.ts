/**
 * Feature datasets end to end: readings imported into a real data dir, `sensorpipe export features`
 * (CLI, from the DuckDB file) read back with hyparquet and checked against a brute-force as-of
 * computation over the input; the manifest describes the file; GET /v1/export/features of a
 * running server answers the same table as CSV and the manifest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { loadMapping } from '../../src/import/mapping.js';
import { noProgress } from '../../src/import/progress.js';
import { resolveInputs, runImport } from '../../src/import/run-import.js';
import { LocalImportSink } from '../../src/import/sinks.js';
import { systemClock, silentLogger } from '../../src/core/types.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { startServer, tempDir, testConfig } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1);

/** s1 every minute with a 10-minute hole at 30..39, s2 every 3rd minute, at second 20; value = minute + sensor offset. */
function readings(): { sensor: string; ts: number; value: number }[] {
  const out: { sensor: string; ts: number; value: number }[] = [];
  for (let m = 0; m < 120; m++) {
    if (m < 30 || m >= 40) out.push({ sensor: 's1', ts: T0 + m * MIN + 20_000, value: m });
    if (m % 3 === 0) out.push({ sensor: 's2', ts: T0 + m * MIN + 20_000, value: 1000 + m });
  }
  return out;
}

/** The as-of value by brute force: last reading with ts <= t, if at most maxGap old. */
function asOf(sensor: string, t: number, maxGap: number): number | null {
  let best: { ts: number; value: number } | null = null;
  for (const r of readings()) if (r.sensor === sensor && r.ts <= t && (!best || r.ts > best.ts)) best = r;
  return best && t - best.ts <= maxGap ? best.value : null;
}

test('export features: point-in-time ffill table matches a brute-force as-of join; manifest; the same through the API', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-features-');
  try {
    writeFileSync(join(dir, 'in.csv'), ['ts,sensor,flow', ...readings().map((r) => `${new Date(r.ts).toISOString()},${r.sensor},${r.value}`)].join('\n') + '\n');
    const sink = await LocalImportSink.open(testConfig(join(dir, 'data')), { clock: systemClock, logger: silentLogger });
    try {
      const m = loadMapping(undefined, { tsColumn: 'ts', sensorColumn: 'sensor', metrics: 'flow' });
      assert.equal((await runImport(resolveInputs(join(dir, 'in.csv')), m, sink, { progress: noProgress })).newReadings, readings().length);
    } finally {
      await sink.close();
    }

    // A quality finding for s1 (as the quality checks write them)
    const wh = await DuckDbWarehouse.open({ path: join(dir, 'data', 'warehouse.duckdb'), metricDefaults: {} });
    try {
      await wh.jobTransaction((tx) =>
        tx.run(
          `INSERT INTO quality_results ("check", sensor_id, metric, window_start, window_end, severity, observed, expected, detail, created_at)
           VALUES ('stuck', 's1', 'flow', TIMESTAMP '2024-01-01 00:20:00', TIMESTAMP '2024-01-01 00:30:00', 'critical', 1, 0, 'test finding', TIMESTAMP '2024-01-01 01:00:00')`,
        ),
      );
    } finally {
      await wh.close();
    }

    const out = join(dir, 'f.parquet');
    const args = ['--sensors', 's1,s2', '--metrics', 'flow', '--from', '2024-01-01T00:05:00Z', '--to', '2024-01-01T01:05:00Z', '--resolution', '1m', '--fill', 'ffill', '--max-gap', '5m'];
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', join(dir, 'data'), 'export', 'features', ...args, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const manifest = JSON.parse(cli.stdout);

    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(out), compressors, parsers: { timestampFromMicroseconds: (us: bigint) => Number(us) / 1000 } });
    assert.equal(rows.length, 60);
    assert.deepEqual(Object.keys(rows[0]), ['ts', 's1__flow', 's1__flow__flag', 's1__flow__gap_s', 's1__flow__quality', 's2__flow', 's2__flow__flag', 's2__flow__gap_s', 's2__flow__quality']);
    // the quality finding written below covers [00:20, 00:30) of s1
    assert.deepEqual(rows.filter((r) => r.s1__flow__quality === 'critical').map((r) => (r.ts as number - T0) / MIN), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert.ok(rows.every((r) => r.s2__flow__quality === null));
    for (const r of rows) {
      const t = r.ts as number;
      assert.equal(r.s1__flow, asOf('s1', t, 5 * MIN), `s1 at ${new Date(t).toISOString()}`);
      assert.equal(r.s2__flow, asOf('s2', t, 5 * MIN), `s2 at ${new Date(t).toISOString()}`);
    }
    // minute 36: s1's last reading is 29:20, 6 min 40 s old: beyond the 5 min gap
    const at36 = rows.find((r) => r.ts === T0 + 36 * MIN)!;
    assert.deepEqual([at36.s1__flow, at36.s1__flow__flag, at36.s1__flow__gap_s], [null, 'missing', 400]);
    const at11 = rows.find((r) => r.ts === T0 + 11 * MIN)!;
    assert.deepEqual([at11.s1__flow, at11.s1__flow__flag, at11.s2__flow, at11.s2__flow__flag], [10, 'observed', 1009, 'filled']);

    assert.equal(manifest.pointInTimeCorrect, true);
    assert.equal(manifest.rowCounts.rows, 60);
    assert.deepEqual(manifest.schema.map((c: { name: string }) => c.name), Object.keys(rows[0]));
    assert.equal(manifest.file.sha256, createHash('sha256').update(readFileSync(out)).digest('hex'));
    assert.deepEqual(JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')), manifest);
    const q = manifest.quality.s1__flow;
    assert.equal(q.observed + q.filled + q.missing, 60);
    assert.equal(q.missing, rows.filter((r) => r.s1__flow === null).length);
    assert.deepEqual(manifest.sourceWindows, [
      { table: 'readings', from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T01:05:00.000Z' },
      { table: 'quality_results', from: '2024-01-01T00:05:00.000Z', to: '2024-01-01T01:05:00.000Z' },
    ]);
    assert.equal(manifest.rowCounts.qualityFindings, 1);

    const sp = await startServer(join(dir, 'data'));
    try {
      const base = `http://127.0.0.1:${sp.httpPort}/v1/export/features?sensors=s1,s2&metrics=flow&from=2024-01-01T00:05:00Z&to=2024-01-01T01:05:00Z&resolution=1m&fill=ffill&maxGap=5m`;
      const auth = { authorization: `Bearer ${sp.localToken}` };
      const csv = await fetch(`${base}&format=csv`, { headers: auth });
      assert.equal(csv.status, 200);
      const lines = (await csv.text()).trim().split('\r\n');
      assert.equal(lines[0], Object.keys(rows[0]).join(','));
      assert.equal(lines.length, 61);
      lines.slice(1).forEach((l, i) => {
        const f = l.split(',');
        assert.equal(Date.parse(f[0]), rows[i].ts);
        assert.equal(f[1] === '' ? null : Number(f[1]), rows[i].s1__flow);
        assert.equal(f[6], rows[i].s2__flow__flag);
      });
      const man = await (await fetch(`${base}&format=manifest`, { headers: auth })).json();
      assert.deepEqual(man.quality, manifest.quality);
      const bad = await fetch(`${base.replace('sensors=s1,s2', 'sensors=s1,no%20pe')}&format=manifest`, { headers: auth });
      assert.equal(bad.status, 400);
    } finally {
      await sp.stop();
    }
  } finally {
    cleanup();
  }
});
