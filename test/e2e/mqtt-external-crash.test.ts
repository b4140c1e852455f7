// The external-broker source under kill -9: Sensorpipe subscribes to a private Mosquitto with a
// fixed client id and a persistent session, devices publish to Mosquitto, and the collector is
// killed at four points of its ingest and write path, one of them between validation and the
// durable append (a source that acknowledged on arrival loses that message: this test fails).
// What Mosquitto accepted and Sensorpipe had not yet acknowledged is delivered again after the
// restart; in the end every message Mosquitto acknowledged to a device is stored exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { simulate } from '../../src/sim/simulate.js';
import { duckdbReadings, ledgerMismatches, readingCount, readLedgers } from '../helpers/ledger-check.js';
import { freePort, startChild, statusOf } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';
import { mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js';
import { until } from '../contract/mqtt-source.contract.js';

const missing = mosquittoMissing();
if (missing && process.env.CI === 'true') throw new Error(`CI=true and the external MQTT crash test cannot run: ${missing}`);
if (missing) console.warn(`\n*** SKIPPED: external MQTT crash test: ${missing} ***\n`);

const CRASH_POINTS = ['ingest.before-append:700', 'writer.after-warehouse:2', 'spool.commit:5', 'lake.before-rename:3'];

test('external broker: kill -9 at 4 points, every message the broker accepted is stored exactly once', { timeout: 300_000, skip: missing ?? false }, async (t) => {
  const tmp = tempDir('sensorpipe-ext-crash-');
  t.after(tmp.cleanup);
  const broker = await startMosquitto(tmp.dir);
  t.after(() => broker.stop());
  const dataDir = join(tmp.dir, 'data');
  const mqttPort = await freePort();
  const env = {
    SENSORPIPE_MQTT__ENABLED: 'false',
    SENSORPIPE_MQTT_EXTERNAL__ENABLED: 'true',
    SENSORPIPE_MQTT_EXTERNAL__URL: broker.url,
    SENSORPIPE_MQTT_EXTERNAL__CLIENT_ID: 'crash',
    SENSORPIPE_MQTT_EXTERNAL__CONNECTIONS: '4',
    SENSORPIPE_WRITER__FLUSH_INTERVAL_MS: '20',
    SENSORPIPE_WRITER__BATCH_MAX_RECORDS: '200',
  };

  // Each run gets its own 1,500 messages. The first collector subscribes (creating the persistent
  // sessions) before devices publish; later chunks are published while no collector is connected,
  // so the broker queues them for the sessions and the next collector starts with a backlog.
  const ledgers: string[] = [];
  const publish = async (i: number) => {
    const ledger = join(tmp.dir, `ledger-${i}.jsonl`);
    ledgers.push(ledger);
    const r = await simulate({ url: broker.url, sensors: 6, count: 1500, demo: true, seed: `ext-crash-${i}`, sensorPrefix: `r${i}-`, ledger, maxInflight: 64 });
    assert.equal(r.failed, 0, `the broker acknowledged every message of chunk ${i} (${r.stopReason})`);
  };
  let child = startChild({ dataDir, mqttPort, args: ['--no-fleet'], env: { ...env, SENSORPIPE_CRASH_AT: CRASH_POINTS[0] } });
  await child.ready;
  for (const [i, point] of CRASH_POINTS.entries()) {
    await publish(i);
    if (i > 0) {
      child = startChild({ dataDir, mqttPort, args: ['--no-fleet'], env: { ...env, SENSORPIPE_CRASH_AT: point } });
      await child.ready;
    }
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', `run ${i} died at ${point}: ${child.output().slice(-600)}`);
    assert.match(child.output(), new RegExp(`killing the process at ${point.split(':')[0]}`));
  }
  await publish(CRASH_POINTS.length);
  child = startChild({ dataDir, mqttPort, args: ['--no-fleet'], env });
  await child.ready;
  const acked = readLedgers(ledgers);
  assert.equal(acked.length, 1500 * (CRASH_POINTS.length + 1));
  const expected = readingCount(acked);

  // The last collector takes in what the broker kept for the sessions; wait until it is all stored.
  await until(
    `${expected} readings stored`,
    async () => {
      const s = await statusOf<{ accounting: { accepted: number; duplicates: number } }>(dataDir);
      return s.accounting.accepted - s.accounting.duplicates >= expected;
    },
    90_000,
  );
  child.proc.kill('SIGTERM');
  assert.equal((await child.exited).code, 0, child.output().slice(-600));

  const { wrong, stored } = ledgerMismatches(acked, await duckdbReadings(join(dataDir, 'warehouse.duckdb')));
  assert.equal(wrong, 0, 'every reading the broker accepted is present exactly once with its value');
  assert.equal(stored, expected, 'and nothing else');
  const db = await DuckDBInstance.create(join(dataDir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  t.after(() => conn.closeSync());
  const acc = await conn.runAndReadAll("select outcome, sum(items)::bigint n from ingest_counts where source = 'mqtt-external' group by all");
  const a = Object.fromEntries(acc.getRowObjectsJS().map((r) => [r.outcome as string, Number(r.n)]));
  assert.ok((a.duplicate ?? 0) > 0, `replays and redeliveries after the kills were counted as duplicates, not stored twice (${a.duplicate})`);
});
