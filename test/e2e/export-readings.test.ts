/**
 * `sensorpipe export readings`: a real data dir filled by the importer, exported to Parquet (read
 * back with hyparquet, no DuckDB involved) and CSV, from the DuckDB file and through a running
 * server whose SQL row cap forces many pages; the CLI with --json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { loadMapping } from '../../src/import/mapping.js';
import { noProgress } from '../../src/import/progress.js';
import { resolveInputs, runImport } from '../../src/import/run-import.js';
import { LocalImportSink } from '../../src/import/sinks.js';
import { exportReadings } from '../../src/export/readings-export.js';
import type { SqlRunner } from '../../src/export/readings-pages.js';
import { systemClock, silentLogger } from '../../src/core/types.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { startServer, tempDir, testConfig } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const T0 = Date.UTC(2024, 0, 1);

/** 3 sensors x 3 metrics x 400 minutes; value encodes (sensor, metric, minute) so rows can be checked one by one. */
async function fill(dir: string): Promise<void> {
  const lines = ['ts,sensor,t,h,p'];
  for (let i = 0; i < 400; i++) for (const s of [1, 2, 3]) lines.push(`${new Date(T0 + i * 60_000).toISOString()},s${s},${s * 1000 + i},${s * 1000 + i + 0.5},${s * 1000 + i + 0.25}`);
  writeFileSync(join(dir, 'in.csv'), lines.join('\n') + '\n');
  const sink = await LocalImportSink.open(testConfig(join(dir, 'data')), { clock: systemClock, logger: silentLogger });
  try {
    const m = loadMapping(undefined, { tsColumn: 'ts', sensorColumn: 'sensor', metrics: 't:flow,h:level,p:speed' });
    const r = await runImport(resolveInputs(join(dir, 'in.csv')), m, sink, { progress: noProgress });
    assert.equal(r.newReadings, 3600);
  } finally {
    await sink.close();
  }
}

const expected = (sensors: number[], metrics: [string, number][], fromMin: number, toMin: number) => {
  const out: string[] = [];
  for (let i = fromMin; i < toMin; i++) for (const s of sensors) for (const [m, off] of metrics) out.push(JSON.stringify([`s${s}`, m, T0 + i * 60_000, s * 1000 + i + off]));
  return out.sort();
};

async function parquetRows(path: string): Promise<string[]> {
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(path), compressors, parsers: { timestampFromMicroseconds: (us: bigint) => Number(us) / 1000 } });
  return rows.map((r) => JSON.stringify([r.sensor_id, r.metric, r.ts, r.value])).sort();
}

test('readings export: Parquet read back by hyparquet and CSV hold exactly the filtered readings, from the file and through a server', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-export-');
  try {
    await fill(dir);
    const filter = { from: T0 + 10 * 60_000, to: T0 + 250 * 60_000, sensors: ['s1', 's3'], metrics: ['flow', 'level'] };
    const want = expected([1, 3], [['flow', 0], ['level', 0.5]], 10, 250);
    assert.equal(want.length, 960);

    const wh = await DuckDbWarehouse.open({ path: join(dir, 'data', 'warehouse.duckdb'), metricDefaults: {}, readOnly: true });
    try {
      const run: SqlRunner = (sql) => wh.query(sql, { maxRows: 100_000 });
      const pq = await exportReadings(run, filter, { format: 'parquet', out: join(dir, 'r.parquet'), pageSize: 137 });
      assert.equal(pq.rows, 960);
      assert.deepEqual(await parquetRows(join(dir, 'r.parquet')), want);

      const csv = await exportReadings(run, filter, { format: 'csv', out: join(dir, 'r.csv') });
      assert.equal(csv.rows, 960);
      const lines = readFileSync(join(dir, 'r.csv'), 'utf8').trim().split('\r\n');
      assert.equal(lines[0], 'sensor_id,metric,ts,value');
      const got = lines.slice(1).map((l) => {
        const [s, m, ts, v] = l.split(',');
        return JSON.stringify([s, m, Date.parse(ts), Number(v)]);
      });
      assert.deepEqual(got.sort(), want);

      const none = await exportReadings(run, { ...filter, sensors: ['nobody'] }, { format: 'parquet', out: join(dir, 'none.parquet') });
      assert.equal(none.rows, 0);
      assert.deepEqual(await parquetRows(join(dir, 'none.parquet')), [], 'an empty export is still a valid Parquet file');
    } finally {
      await wh.close();
    }

    // Through a server whose SQL cap (100 rows) is far below the page size: pages shrink, nothing is lost.
    const sp = await startServer(join(dir, 'data'), { sql: { maxRows: 100, timeoutMs: 10_000 } });
    try {
      const run: SqlRunner = async (sql) => {
        const res = await fetch(`http://127.0.0.1:${sp.httpPort}/v1/sql`, {
          method: 'POST',
          headers: { authorization: `Bearer ${sp.localToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sql }),
        });
        assert.equal(res.status, 200);
        return (await res.json()) as { rows: Record<string, unknown>[] };
      };
      const r = await exportReadings(run, filter, { format: 'parquet', out: join(dir, 'server.parquet') });
      assert.equal(r.rows, 960);
      assert.deepEqual(await parquetRows(join(dir, 'server.parquet')), want);
    } finally {
      await sp.stop();
    }
  } finally {
    cleanup();
  }
});

test('CLI export readings: --json result, every metric by default, usage errors exit 2', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-export-cli-');
  try {
    await fill(dir);
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', join(dir, 'data'), 'export', 'readings', ...args], { cwd: ROOT, encoding: 'utf8' });
    const ok = cli('--from', '2024-01-01', '--to', '2024-01-01T01:00:00', '--sensors', 's2', '--out', join(dir, 'x.parquet'), '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as { file: string; format: string; rows: number };
    assert.deepEqual([result.file, result.format, result.rows], [join(dir, 'x.parquet'), 'parquet', 180]);
    assert.deepEqual(await parquetRows(join(dir, 'x.parquet')), expected([2], [['flow', 0], ['level', 0.5], ['speed', 0.25]], 0, 60));
    const bad = cli('--from', '2024-01-02', '--to', '2024-01-01', '--out', join(dir, 'y.csv'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--from \(2024-01-02T00:00:00.000Z\) must be before --to/);
  } finally {
    cleanup();
  }
});
