// `sensorpipe jobs …` against a running server: the CLI finds it on the data dir and goes through
// /v1/jobs (a run streams NDJSON progress); and the routes' roles and input checks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';
import { SpoolSim } from '../helpers/batches.js';
import { loadOccupancy, writeOccupancy } from '../helpers/occupancy.js';
import { startServer, tempDir } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDir('sensorpipe-jobs-http-');
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

test('with a server: the same commands go through /v1/jobs (streamed), and the routes check roles and input', async (t) => {
  let sp: Sensorpipe | null = await startServer(dataDir);
  t.after(async () => {
    await sp?.stop();
    sp = null;
  });
  const r = await cli(['jobs', 'run', 'resample', '--from', '2015-02-05T00:00Z', '--to', '2015-02-05T02:00Z', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { job: string; ok: number; windows: number; dryRun: boolean };
  assert.deepEqual([summary.job, summary.windows, summary.ok, summary.dryRun], ['resample', 2, 2, false]);
  const list = await cli(['jobs', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const jobs = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; lastRun: { windowStart: string } | null });
  const quality = ['completeness', 'spike', 'stuck', 'rate_of_change', 'drift', 'group_consistency', 'rules', 'ingest'].map((c) => `quality.${c}`);
  assert.deepEqual(jobs.map((j) => j.name), ['resample', 'rollup_1h', 'rollup_1d', ...quality, 'lake_compact', 'lake_archive', 'digest', 'retention']);
  assert.equal(jobs[0].lastRun?.windowStart, '2015-02-05T01:00:00.000Z');
  const hist = await cli(['jobs', 'history', '--job', 'nope']);
  assert.equal(hist.code, 2);
  assert.match(hist.stderr, /404: unknown job "nope"/);

  const app = sp.http!;
  const admin = { authorization: `Bearer ${sp.localToken}` };
  const analyst = { authorization: `Bearer ${sp.auth.createToken('analyst', 'bi')}` };
  assert.equal((await app.inject({ method: 'GET', url: '/v1/jobs' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/jobs', headers: analyst })).statusCode, 200);
  const runs = await app.inject({ method: 'GET', url: '/v1/jobs/history?job=resample&limit=1', headers: analyst });
  assert.equal(runs.statusCode, 200);
  assert.equal((runs.json() as { runs: unknown[] }).runs.length, 1);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/jobs/resample/run', headers: analyst, payload: {} })).statusCode, 403);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/jobs/nope/run', headers: admin, payload: {} })).statusCode, 404);
  const bad = await app.inject({ method: 'POST', url: '/v1/jobs/resample/run', headers: admin, payload: { from: 'soon' } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /not a time/);
  const open = await app.inject({ method: 'POST', url: '/v1/jobs/resample/run', headers: admin, payload: { from: '2999-01-01' } });
  assert.equal(open.statusCode, 400);
  assert.equal(open.json().error, 'bad_range');
  const dry = await app.inject({ method: 'POST', url: '/v1/jobs/rollup_1h/run', headers: admin, payload: { from: '2015-02-05T00:00Z', to: '2015-02-05T02:00Z', dryRun: true } });
  assert.equal(dry.statusCode, 200);
  assert.match(dry.headers['content-type'] as string, /application\/x-ndjson/);
  const lines = dry.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; summary?: { dryRun: boolean; ok: number } });
  assert.deepEqual(lines.map((l) => l.type), ['start', 'window', 'window', 'summary']);
  assert.deepEqual(lines[0], { type: 'start', job: 'rollup_1h', from: '2015-02-05T00:00:00.000Z', to: '2015-02-05T02:00:00.000Z', windows: 2 });
  assert.deepEqual([lines[3].summary?.dryRun, lines[3].summary?.ok], [true, 2]);
});
