/**
 * PostgreSQL warehouse write path: milliseconds per writeBatch of 5000 readings (COPY into the
 * stage, classification against the primary key, insert, quarantine, accounting, offset, COMMIT)
 * with `readings` preloaded.
 *
 *   node --import tsx bench/warehouse-postgres.ts [--rows=1000000] [--batches=20] [--url=postgres://postgres@127.0.0.1:5432/test]
 *
 * Preload (generated in SQL, bypassing the ingest path): 1000 sensors x 2 metrics, rows/2000
 * readings each one second apart, time-ordered, then ANALYZE. Each batch:
 * 5000 readings of the same fleet just after the preloaded range, ~11 % of them repeats of stored
 * rows (half exact duplicates, half conflicts), as in duckdb-write-batch.ts's measurement. Runs in
 * a fresh schema that is dropped at the end; prints the median and the spread after 3 warm-up batches.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SpoolRecord } from '../src/core/types.js';
import { PostgresWarehouse } from '../src/sinks/warehouse/postgres-warehouse.js';
import { batchOf, messageRecord } from '../test/helpers/batches.js';

const arg = (name: string, d: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=') ?? d;
const rows = Number(arg('rows', '1000000'));
const batches = Number(arg('batches', '20'));
const url = arg('url', 'postgres://postgres@127.0.0.1:5432/test');
const schema = `bench_${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2024, 4, 1);
const SENSORS = 1000;

const admin = new pg.Client({ connectionString: url });
await admin.connect();
const w = await PostgresWarehouse.open({ connection: { url }, schema, metricDefaults: {} });
try {
  const perPair = Math.ceil(rows / (SENSORS * 2));
  const t0 = performance.now();
  await admin.query(`INSERT INTO "${schema}".readings (sensor_id, metric, ts, value, received_at, source, seq, spool_offset)
    SELECT 's' || s, m, to_timestamp(${T0 / 1000} + i) AT TIME ZONE 'UTC', (s + i) % 97, to_timestamp(${T0 / 1000} + i) AT TIME ZONE 'UTC', 'mqtt', NULL, 0
    FROM generate_series(0, ${perPair - 1}) i, generate_series(0, ${SENSORS - 1}) s, unnest(ARRAY['temperature', 'humidity']) m`);
  await admin.query(`ANALYZE "${schema}".readings`);
  const loaded = Number((await admin.query(`SELECT count(*) AS n FROM "${schema}".readings`)).rows[0].n);
  console.log(`preloaded ${loaded} readings in ${Math.round(performance.now() - t0)} ms`);

  let offset = 0;
  const times: number[] = [];
  for (let b = 0; b < batches + 3; b++) {
    const records: SpoolRecord[] = [];
    for (let k = 0; k < 5000; k++) {
      const s = k % SENSORS;
      const metric = k % 2000 < 1000 ? 'temperature' : 'humidity';
      const step = perPair + b * 3 + Math.floor(k / 2000);
      const repeat = k % 9 === 0; // ~11 %: a stored reading again
      const i = repeat ? perPair - 1 - (k % 50) : step;
      const value = repeat ? ((s + i) % 97) + (k % 18 === 0 ? 0.5 : 0) : k;
      offset++;
      records.push(messageRecord(offset, [{ sensorId: `s${s}`, metric, ts: T0 + i * 1000, value, seq: null }], { deviceId: `s${s}`, receivedAt: T0 + step * 1000 }));
    }
    const t = performance.now();
    const out = await w.writeBatch(batchOf(records));
    const ms = performance.now() - t;
    if (b >= 3) times.push(ms);
    if (b === 3) console.log(`batch outcome: inserted ${out.inserted}, duplicates ${out.duplicates}, conflicts ${out.conflicts.length}`);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  console.log(
    `writeBatch of 5000 readings over ${loaded} stored: median ${Math.round(med)} ms (${Math.round(5000 / (med / 1000))} readings/s), ` +
      `min ${Math.round(times[0])} ms, max ${Math.round(times[times.length - 1])} ms, ${times.length} batches`,
  );
} finally {
  await w.close();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
