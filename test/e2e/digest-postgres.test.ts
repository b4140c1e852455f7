// The digest is plain SQL through the Warehouse interface, so it must say the same on PostgreSQL
// as on DuckDB: the digest fleet (real UCI minute data, a silent sensor, quarantined readings) and
// the completeness check's findings are written into both, and the two digests of 2015-W07 must be
// the same document.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { configSchema } from '../../src/config/schema.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { computeDigest, digestThresholds, type Digest } from '../../src/monitoring/digest/index.js';
import { completenessJob } from '../../src/quality/checks/completeness.js';
import { defaultQualityConfig } from '../../src/quality/config.js';
import { PostgresWarehouse } from '../../src/sinks/warehouse/postgres-warehouse.js';
import { DIGEST_TIME, fleetSamples, loadFleet, W06, W07, writeFleet } from '../helpers/digest-fleet.js';
import { TEST_PG, dropSchema, freshSchemaName, requirePostgres } from '../helpers/postgres.js';
import { jobContext, runWindows } from '../helpers/quality-load.js';
import { tempDir } from '../helpers/server.js';

if (requirePostgres('weekly digest on PostgreSQL')) {
  const tmp = tempDir('sensorpipe-digest-pg-');
  const schema = freshSchemaName();
  const open: Warehouse[] = [];
  const digests: Record<'duckdb' | 'postgres', Digest> = {} as never;

  before(async () => {
    const fleet = fleetSamples();
    const duck = await writeFleet(join(tmp.dir, 'w.duckdb'), fleet);
    open.push(duck);
    const pgw = await PostgresWarehouse.open({ connection: TEST_PG, schema, metricDefaults: {}, clock: { now: () => DIGEST_TIME } });
    open.push(pgw);
    await loadFleet(pgw, fleet);
    const thresholds = digestThresholds(configSchema.parse({}));
    for (const w of [duck, pgw]) {
      await runWindows(completenessJob(defaultQualityConfig({ windowMs: 86_400_000 })), jobContext(w, DIGEST_TIME), W06.start, W07.end);
      digests[w.kind] = await computeDigest(w, W07, DIGEST_TIME, thresholds);
    }
  });
  after(async () => {
    for (const w of open) await w.close();
    await dropSchema(schema);
    tmp.cleanup();
  });

  test('PostgreSQL and DuckDB give the same digest', () => {
    const pg = digests.postgres;
    const duck = digests.duckdb;
    assert.equal(pg.topProblems[0].sensorId, 'room-d');
    assert.equal(pg.topProblems[0].kind, 'silent');
    assert.deepEqual(pg.quarantineByReason, duck.quarantineByReason);
    assert.deepEqual(pg.headline, duck.headline);
    for (const [i, s] of duck.sensors.entries()) assert.deepEqual(pg.sensors[i], s, s.sensorId);
    assert.deepEqual(pg, duck);
  });
}
