// Crash recovery: Sensorpipe runs as a child process and is killed with SIGKILL while devices
// publish, at precise points (inside the writer, during a lake file write, during a spool
// checkpoint) and at a random one. After a clean restart every acknowledged message must be
// present exactly once, and every Parquet file in the lake must open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';
import { simulate } from '../../src/sim/simulate.js';
import { ledgerMismatches, readLedgers, type StoredReading } from '../helpers/ledger-check.js';
import { freePort, startChild } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';

const CRASH_POINTS = [
  'writer.before-warehouse:3',
  'writer.after-warehouse:2',
  'writer.after-lake:4',
  'lake.before-rename:5',
  'lake.after-rename:3',
  'spool.commit:6',
  'writer.after-commit:2',
];

function parquetFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(parquetFiles(p));
    else if (name.endsWith('.parquet')) out.push(p);
  }
  return out;
}

test('kill -9 at 8 points while devices publish: every acknowledged message is stored exactly once', { timeout: 300_000 }, async (t) => {
  const tmp = tempDir('sensorpipe-crash-');
  t.after(tmp.cleanup);
  const dataDir = join(tmp.dir, 'data');
  const mqttPort = await freePort();
  const ledgers: string[] = [];
  const env = { SENSORPIPE_WRITER__FLUSH_INTERVAL_MS: '20', SENSORPIPE_WRITER__BATCH_MAX_RECORDS: '300' };

  const runUntilKilled = async (i: number, crashAt: string | null) => {
    const child = startChild({ dataDir, mqttPort, args: ['--demo', '--no-fleet'], env: crashAt ? { ...env, SENSORPIPE_CRASH_AT: crashAt } : env });
    await child.ready;
    const ledger = join(tmp.dir, `ledger-${i}.jsonl`);
    ledgers.push(ledger);
    const sim = simulate({
      url: `mqtt://127.0.0.1:${mqttPort}`,
      sensors: 5,
      count: 2000,
      demo: true,
      seed: `crash-${i}`,
      sensorPrefix: `c${i}-`,
      ledger,
      ackTimeoutMs: 3000,
      maxInflight: 64,
    });
    if (crashAt === null) {
      // The random point: a kill from outside after some acknowledgements.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const acked = existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').length - 1 : 0;
        if (acked >= 700 + 97 * i) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      child.proc.kill('SIGKILL');
    }
    const report = await sim;
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', `run ${i} (${crashAt ?? 'external kill'}) died by SIGKILL: ${child.output().slice(-500)}`);
    if (crashAt) assert.match(child.output(), new RegExp(`killing the process at ${crashAt.split(':')[0]}`));
    assert.ok(report.acked > 0, `run ${i} acknowledged something before the crash`);
    // No partial Parquet file is ever visible: every *.parquet opens with an independent reader.
    for (const f of parquetFiles(join(dataDir, 'lake'))) {
      const meta = await parquetMetadataAsync(await asyncBufferFromFile(f));
      assert.ok(meta.num_rows >= 0n || Number(meta.num_rows) >= 0, f);
    }
  };

  for (const [i, point] of CRASH_POINTS.entries()) await runUntilKilled(i, point);
  await runUntilKilled(CRASH_POINTS.length, null);

  // Clean restart: the spool is replayed into the sinks before the banner; then a clean stop.
  const last = startChild({ dataDir, mqttPort, args: ['--demo', '--no-fleet'], env });
  await last.ready;
  last.proc.kill('SIGTERM');
  const exit = await last.exited;
  assert.equal(exit.code, 0, last.output());

  const acked = readLedgers(ledgers);
  assert.ok(acked.length > 2000, `enough acknowledged messages to mean something (${acked.length})`);

  const db = await DuckDBInstance.create(join(dataDir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  const { wrong: missing } = ledgerMismatches(acked, (await conn.runAndReadAll(
    'select sensor_id, metric, epoch_ms(ts)::bigint ts, value, count(*) over (partition by sensor_id, metric, ts)::int n from readings',
  )).getRowObjectsJS() as unknown as StoredReading[]);
  assert.equal(missing, 0, 'every acknowledged reading present exactly once with its value');
  const dup = await conn.runAndReadAll('select count(*)::int n from (select 1 from readings group by sensor_id, metric, ts having count(*) > 1)');
  assert.equal(dup.getRowObjects()[0].n, 0);
  const acc = await conn.runAndReadAll("select outcome, sum(items)::bigint n from ingest_counts group by all");
  const a = Object.fromEntries(acc.getRowObjectsJS().map((r) => [r.outcome as string, Number(r.n)]));
  const [{ n: readings }] = (await conn.runAndReadAll('select count(*)::int n from readings')).getRowObjects() as { n: number }[];
  assert.equal(a.accepted - (a.duplicate ?? 0), readings, 'accepted minus duplicates = rows stored: nothing counted twice after replays');
  conn.closeSync();

  // The lake raw layer holds every acknowledged reading exactly once too (replays replace files).
  const mem = await (await DuckDBInstance.create(':memory:')).connect();
  const lake = await mem.runAndReadAll(
    `select count(*)::int n, count(distinct (sensor_id, metric, ts))::int d from read_parquet('${join(dataDir, 'lake')}/raw/**/*.parquet', hive_partitioning = true)`,
  );
  const { n, d } = lake.getRowObjects()[0] as { n: number; d: number };
  assert.equal(n, d, 'no reading twice in the lake');
  assert.equal(n, readings);
  mem.closeSync();
});
