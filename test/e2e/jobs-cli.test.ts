// `sensorpipe jobs …` as a user meets it, with no server running (the CLI opens the warehouse
// itself): a backfill over real minute data, history and list, retention's dry-run report, exit
// codes. The same commands against a running server: jobs-http.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { SpoolSim } from '../helpers/batches.js';
import { expectedFromReadings, tableRows, assertSameAggregates } from '../helpers/aggregates.js';
import { loadOccupancy, writeOccupancy } from '../helpers/occupancy.js';
import { tempDir } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDir('sensorpipe-jobs-cli-');
const dataDir = join(tmp.dir, 'data');
const warehousePath = join(dataDir, 'warehouse.duckdb');

/** Runs the CLI from source without blocking this process (a server may run in it). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, SENSORPIPE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    const t0 = Date.now();
    p.on('close', (code) => {
      if (process.env.JOBS_CLI_TIMING) process.stderr.write(`${Date.now() - t0} ms  ${args.join(' ')}\n`);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  const w = await DuckDbWarehouse.open({ path: warehousePath, metricDefaults: {} });
  // 2015-02-04 17:51 .. 2015-02-05 03:50, one room, five metrics.
  await writeOccupancy(w, new SpoolSim(), loadOccupancy({ limit: 600 }), { sensors: ['room-a'] });
  await w.close();
});
after(() => tmp.cleanup());

test('without a server: jobs run backfills every window, jobs history and list show the runs', async () => {
  const r = await cli(['jobs', 'run', 'resample', '--from', '2015-02-04T17:30', '--to', '2015-02-05T04:00Z']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /resample: 11 of 11 windows from 2015-02-04T17:00Z to 2015-02-05T04:00Z: 11 ok, 0 skipped, 0 failed; \d+ rows written/);
  const x = await cli(['jobs', 'run', 'rollup_1h', '--from', '2015-02-04T17:00Z', '--to', '2015-02-05T04:00Z']);
  assert.equal(x.code, 0, x.stderr);
  assert.match(x.stdout, /rollup_1h: 11 of 11 windows/);

  const hist = await cli(['jobs', 'history', '--job', 'resample', '--limit', '3', '--json']);
  assert.equal(hist.code, 0, hist.stderr);
  const runs = hist.stdout.trim().split('\n').map((l) => JSON.parse(l) as { job: string; status: string; triggeredBy: string; windowStart: string });
  assert.deepEqual(runs.map((x) => [x.job, x.status, x.triggeredBy, x.windowStart]), [
    ['resample', 'ok', 'manual', '2015-02-05T03:00:00.000Z'],
    ['resample', 'ok', 'manual', '2015-02-05T02:00:00.000Z'],
    ['resample', 'ok', 'manual', '2015-02-05T01:00:00.000Z'],
  ]);
  const table = await cli(['jobs', 'history', '--limit', '2']);
  assert.match(table.stdout, /started_at\s+job\s+trigger\s+window_start/);
  assert.match(table.stdout, /rollup_1h\s+manual\s+2015-02-05T03:00Z\s+2015-02-05T04:00Z\s+ok\s+5/);

  const list = await cli(['jobs', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^resample\s+yes\s+\*\/5 \* \* \* \*\s+1h\s+300s\s+ok 2015-02-05T03:00Z/m);
  assert.match(list.stdout, /^retention\s+no\s+30 3 \* \* \*/m);

  const w = await DuckDbWarehouse.open({ path: warehousePath, metricDefaults: {}, readOnly: true });
  try {
    assertSameAggregates(await tableRows(w, 'readings_1m'), await expectedFromReadings(w, 'minute'), '1m');
    assertSameAggregates(await tableRows(w, 'readings_1h'), await expectedFromReadings(w, 'hour'), '1h');
  } finally {
    await w.close();
  }
});

test('without a server: retention --dry-run prints what it would delete per table; bad input exits 2', async () => {
  const dry = await cli(['jobs', 'run', 'retention', '--dry-run', '--from', '2015-02-06', '--to', '2015-02-07']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /DRY RUN \(nothing changed\): retention: 1 of 1 window/);
  // keepDays defaults: readings 90 days, so nothing from 2015-02 is old enough yet relative to 2015-02-07.
  assert.match(dry.stdout, /^readings\s+90\s+2014-11-09T00:00:00.000Z\s+0\s/m);
  assert.match(dry.stdout, /^readings_1d\s+forever/m);

  const unknown = await cli(['jobs', 'run', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown job "nope"; the jobs are: resample, rollup_1h, rollup_1d, quality.completeness, quality.spike, quality.stuck, quality.rate_of_change, quality.drift, quality.group_consistency, quality.rules, quality.ingest, lake_compact, lake_archive, (digest, )?retention/);
  const badTime = await cli(['jobs', 'run', 'resample', '--from', 'last tuesday']);
  assert.equal(badTime.code, 2);
  assert.match(badTime.stderr, /--from "last tuesday" is not a time/);
});
