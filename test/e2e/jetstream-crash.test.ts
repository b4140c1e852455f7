// Sensorpipe with its spool on NATS JetStream, killed with SIGKILL at four points (between
// validation and the append, after the warehouse write, during the spool commit, before a lake
// rename) while devices publish to the embedded broker: every message a device got a PUBACK for
// is stored exactly once after the restarts, read back from the stream from the checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'nats';
import { simulate } from '../../src/sim/simulate.js';
import { duckdbReadings, ledgerMismatches, readLedgers } from '../helpers/ledger-check.js';
import { freePort, startChild } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';

const servers = process.env.SENSORPIPE_TEST_NATS ?? 'nats://127.0.0.1:4222';
const why = await connect({ servers, timeout: 2000 }).then(
  async (nc) => {
    await nc.close();
    return null;
  },
  (err: Error) => `NATS at ${servers} is unreachable (${err.message}); start nats-server -js`,
);
if (why && process.env.CI === 'true') throw new Error(`CI=true and the JetStream crash test cannot run: ${why}`);
if (why) console.warn(`\n*** SKIPPED: JetStream crash test: ${why} ***\n`);

const CRASH_POINTS = ['ingest.before-append:500', 'writer.after-warehouse:2', 'spool.commit:3', 'lake.before-rename:3'];

test('JetStream spool: kill -9 at 4 points, every acknowledged message stored exactly once', { timeout: 300_000, skip: why ?? false }, async (t) => {
  const tmp = tempDir('sensorpipe-js-crash-');
  t.after(tmp.cleanup);
  const stream = `crash_${process.pid}_${Date.now()}`;
  t.after(async () => {
    const nc = await connect({ servers });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => undefined);
    await jsm.streams.delete(`KV_${stream}_state`).catch(() => undefined);
    await nc.close();
  });
  const dataDir = join(tmp.dir, 'data');
  const mqttPort = await freePort();
  const env = {
    SENSORPIPE_SPOOL__KIND: 'jetstream',
    SENSORPIPE_SPOOL__JETSTREAM__SERVERS: JSON.stringify([servers]),
    SENSORPIPE_SPOOL__JETSTREAM__STREAM: stream,
    SENSORPIPE_WRITER__FLUSH_INTERVAL_MS: '20',
    SENSORPIPE_WRITER__BATCH_MAX_RECORDS: '200',
  };
  const ledgers: string[] = [];
  for (const [i, point] of [...CRASH_POINTS, null].entries()) {
    const child = startChild({ dataDir, mqttPort, args: ['--demo', '--no-fleet'], env: point ? { ...env, SENSORPIPE_CRASH_AT: point } : env });
    await child.ready;
    if (point === null) {
      child.proc.kill('SIGTERM');
      assert.equal((await child.exited).code, 0, child.output().slice(-800));
      break;
    }
    const ledger = join(tmp.dir, `ledger-${i}.jsonl`);
    ledgers.push(ledger);
    const report = await simulate({ url: `mqtt://127.0.0.1:${mqttPort}`, sensors: 5, count: 1500, demo: true, seed: `js-${i}`, sensorPrefix: `j${i}-`, ledger, ackTimeoutMs: 3000, maxInflight: 64 });
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', `run ${i} died at ${point}: ${child.output().slice(-800)}`);
    assert.ok(report.acked > 0, `run ${i} acknowledged something before the kill`);
  }

  const acked = readLedgers(ledgers);
  assert.ok(acked.length > 1000, `enough acknowledged messages (${acked.length})`);
  const { wrong } = ledgerMismatches(acked, await duckdbReadings(join(dataDir, 'warehouse.duckdb')));
  assert.equal(wrong, 0, 'every acknowledged reading present exactly once with its value');
});
