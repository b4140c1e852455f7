// Outages of the engines Sensorpipe depends on, while devices publish: the PostgreSQL warehouse
// stopped and started again, the external MQTT broker restarted. Acknowledgements go on (or pause)
// as the delivery contract says, and afterwards every acknowledged message is stored exactly once.
// The outage length is SENSORPIPE_TEST_OUTAGE_S (default 5 s; `npm run chaos` style long runs: 30).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { simulate } from '../../src/sim/simulate.js';
import { startServer, tempDir } from '../helpers/server.js';
import { ledgerMismatches, readingCount, readLedgers } from '../helpers/ledger-check.js';
import { privatePostgresMissing, startPrivatePostgres } from '../helpers/private-postgres.js';
import { mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js';
import { until } from '../contract/mqtt-source.contract.js';

const OUTAGE_MS = Number(process.env.SENSORPIPE_TEST_OUTAGE_S ?? 5) * 1000;

for (const [what, why] of [
  ['PostgreSQL outage', privatePostgresMissing()],
  ['external broker restart', mosquittoMissing()],
] as const) {
  if (why && process.env.CI === 'true') throw new Error(`CI=true and the ${what} test cannot run: ${why}`);
  if (why) console.warn(`\n*** SKIPPED: ${what}: ${why} ***\n`);
}

test('PostgreSQL stopped mid-stream: devices keep getting PUBACKs (the spool holds), /readyz says why, everything lands once it is back', { timeout: 300_000, skip: privatePostgresMissing() ?? false }, async (t) => {
  const tmp = tempDir('sensorpipe-pg-outage-');
  const db = await startPrivatePostgres(tmp.dir);
  const sp = await startServer(join(tmp.dir, 'data'), { demo: true, warehouse: { kind: 'postgres', postgres: { url: db.url, schema: 'outage' } } });
  // One hook, in order: the server before its database, the database before its files.
  t.after(async () => {
    await sp.stop();
    db.destroy();
    tmp.cleanup();
  });
  const url = `mqtt://127.0.0.1:${sp.mqtt!.port}`;
  const ledgers = [0, 1, 2].map((i) => join(tmp.dir, `ledger-${i}.jsonl`));
  const publish = (i: number) => simulate({ url, sensors: 4, count: 800, demo: true, seed: `pg-out-${i}`, sensorPrefix: `p${i}-`, ledger: ledgers[i], maxInflight: 32 });

  assert.equal((await publish(0)).failed, 0);
  db.stop();
  const during = publish(1);
  const outageEnds = Date.now() + OUTAGE_MS;
  await until('/readyz to report the warehouse', async () => {
    const r = await sp.http!.inject({ url: '/readyz' });
    return r.statusCode === 503 && /warehouse/i.test(r.body);
  }, 60_000);
  const r1 = await during;
  assert.equal(r1.failed, 0, 'devices got a PUBACK for every message while the warehouse was down (the spool holds them)');
  while (Date.now() < outageEnds) await new Promise((r) => setTimeout(r, 100));
  db.start();
  assert.equal((await publish(2)).failed, 0);

  const acked = readLedgers(ledgers);
  const expected = readingCount(acked);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await until(`${expected} readings in PostgreSQL`, async () => Number((await client.query('select count(*) n from outage.readings')).rows[0].n) >= expected, 120_000);
  const rows = await client.query(
    `select sensor_id, metric, (extract(epoch from ts) * 1000)::bigint::text ts, value, count(*) over (partition by sensor_id, metric, ts) n from outage.readings`,
  );
  const { wrong, stored } = ledgerMismatches(acked, rows.rows);
  assert.equal(wrong, 0, 'every acknowledged reading present exactly once with its value');
  assert.equal(stored, expected);
  await client.end();
  await until('/readyz 200 again', async () => (await sp.http!.inject({ url: '/readyz' })).statusCode === 200, 30_000);
});

test('external broker restarted mid-stream: the subscriber reconnects, resumes its session, and every message the broker accepted is stored once', { timeout: 300_000, skip: mosquittoMissing() ?? false }, async (t) => {
  const tmp = tempDir('sensorpipe-broker-restart-');
  // Persistence on: a broker that restarts keeps the sessions and what it queued for them. Started
  // as root, Mosquitto runs as the mosquitto user, which must be able to write there.
  const persist = join(tmp.dir, 'mosquitto-db');
  mkdirSync(persist);
  chmodSync(tmp.dir, 0o755);
  chmodSync(persist, 0o777);
  const extra = ['persistence true', `persistence_location ${persist}/`];
  let broker = await startMosquitto(tmp.dir, extra);
  const port = broker.port;
  const sp = await startServer(join(tmp.dir, 'data'), { mqtt: { enabled: false }, mqttExternal: { enabled: true, url: broker.url, clientId: 'restart', connections: 4 } });
  t.after(async () => {
    await sp.stop();
    await broker.stop();
    tmp.cleanup();
  });
  const ledgers = [0, 1].map((i) => join(tmp.dir, `ledger-${i}.jsonl`));
  const publish = (i: number, url: string) => simulate({ url, sensors: 4, count: 1000, demo: true, seed: `restart-${i}`, sensorPrefix: `r${i}-`, ledger: ledgers[i], maxInflight: 32 });

  assert.equal((await publish(0, broker.url)).failed, 0);
  await broker.stop();
  broker = await startMosquitto(tmp.dir, extra, port);
  await until('the subscriber to reconnect', () => sp.external!.connected === 4, 60_000);
  assert.equal((await publish(1, broker.url)).failed, 0);

  const acked = readLedgers(ledgers);
  const expected = readingCount(acked);
  await until(`${expected} readings`, async () => {
    await sp.writer.drain();
    const r = await sp.warehouse.query("select count(*)::int n from readings where source = 'mqtt-external'", { maxRows: 1, timeoutMs: 10_000 });
    return (r.rows[0].n as number) >= expected;
  }, 120_000);
  const rows = await sp.warehouse.query(
    'select sensor_id, metric, epoch_ms(ts)::bigint ts, value, count(*) over (partition by sensor_id, metric, ts)::int n from readings',
    { maxRows: 1_000_000, timeoutMs: 60_000 },
  );
  const { wrong, stored } = ledgerMismatches(acked, rows.rows as never);
  assert.equal(wrong, 0, 'every message the broker accepted is present exactly once with its value');
  assert.equal(stored, expected);
});
