// `sensorpipe report digest` as a user meets it: without a server (the CLI opens the warehouse
// read-only and writes the files itself) and with one (the server's digest job makes it, recorded
// in job_runs). The data is the digest fleet (digest-fleet.ts: real UCI minute data, a sensor
// that goes silent, quarantined readings).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Digest } from '../../src/monitoring/digest/index.js';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';
import { fleetSamples, writeFleet } from '../helpers/digest-fleet.js';
import { startServer, tempDir } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDir('sensorpipe-digest-cli-');
const dataDir = join(tmp.dir, 'data');
const weekDir = join(dataDir, 'lake', 'reports', 'digest', '2015-W07');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, SENSORPIPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  const w = await writeFleet(join(dataDir, 'warehouse.duckdb'), fleetSamples());
  await w.close();
});
after(() => tmp.cleanup());

test('without a server: report digest --week writes the three files and prints the digest', async () => {
  const r = await cli(['report', 'digest', '--week', '2015-W07', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as Digest;
  assert.equal(d.week, '2015-W07');
  assert.equal(d.topProblems[0].sensorId, 'room-d');
  assert.equal(d.topProblems[0].kind, 'silent');
  assert.deepEqual(d.quarantineByReason.map((x) => [x.reason, x.items, x.previous]), [['out_of_range', 30, 5], ['non_finite', 12, 0]]);
  assert.deepEqual(JSON.parse(readFileSync(join(weekDir, 'digest.json'), 'utf8')), d, 'what it printed is what it wrote');
  for (const f of ['digest.html', 'digest.md']) assert.ok(existsSync(join(weekDir, f)), f);

  const bad = await cli(['report', 'digest', '--week', '2015-W60']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--week "2015-W60" is not an ISO week: use YYYY-Www/);
  const future = await cli(['report', 'digest', '--week', '2999-W01']);
  assert.equal(future.code, 2);
  assert.match(future.stderr, /week 2999-W01 is not over until 2999-01-07; the last complete week is \d{4}-W\d\d/);
});

test('with a server: the server’s digest job makes it (recorded in job_runs), announces it, and the CLI prints the headline and where to open it', async (t) => {
  rmSync(weekDir, { recursive: true, force: true });
  const received: Record<string, unknown>[] = [];
  const hook = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      received.push(JSON.parse(data) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  t.after(() => hook.close());
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  let sp: Sensorpipe | null = await startServer(dataDir, {
    notifiers: [{ name: 'ops', kind: 'webhook', url }],
    jobs: { digest: { reportUrl: 'https://reports.example/sensorpipe/digest' } },
  });
  t.after(async () => {
    await sp?.stop();
    sp = null;
  });
  const r = await cli(['report', 'digest', '--week', '2015-W07']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^digest for week 2015-W07: 4 of 4 sensors with problems, completeness \d+\.\d %/);
  assert.match(r.stdout, /1\. critical: room-d has been silent for 3\.5 days/);
  assert.ok(r.stdout.includes(`open ${join(weekDir, 'digest.html')}`), r.stdout);
  assert.ok(existsSync(join(weekDir, 'digest.json')));
  const runs = await sp.scheduler.history({ job: 'digest' });
  assert.deepEqual(runs.map((x) => [x.status, x.triggeredBy, x.windowStart]), [['ok', 'manual', '2015-02-15T00:00:00.000Z']]);
  // Announced through the server's notifiers, with the link under reportUrl.
  const digests = received.filter((n) => n.kind === 'digest');
  assert.equal(digests.length, 1, JSON.stringify(received).slice(0, 500));
  assert.equal(digests[0].key, 'digest:2015-W07');
  assert.match(String(digests[0].title), /^digest for week 2015-W07 ready: 4 of 4 sensors with problems/);
  assert.equal(digests[0].url, 'https://reports.example/sensorpipe/digest/2015-W07/digest.html');
});
