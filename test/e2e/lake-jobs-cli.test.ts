// `sensorpipe jobs run lake_archive --dry-run` and `lake_compact` as an operator runs them, without
// a server (the CLI opens the warehouse and the lake itself): the dry run lists what would move and
// changes no file; the real runs keep every row (DuckDB counts before and after).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { fleetBatches } from '../helpers/lake-batches.js';
import { countWithDocsRule, snapshot } from '../helpers/lake-read.js';
import { tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/child-server.js';

const tmp = tempDir('sensorpipe-lake-cli-');
const dataDir = join(tmp.dir, 'data');
const lakeDir = join(dataDir, 'lake');
const D1 = Date.UTC(2024, 2, 1);

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, dataDir, env);

let duck: DuckDBInstance;
let total = 0;
before(async () => {
  const wh = await DuckDbWarehouse.open({ path: join(dataDir, 'warehouse.duckdb'), metricDefaults: {} });
  await wh.close();
  const lake = await FsLake.open({ dir: lakeDir, partitioning: 'date', zstdLevel: 6 });
  for (const b of fleetBatches({ sensors: 3, startMs: D1, minutes: 3 * 1440, recordsPerBatch: 300 })) await lake.writeBatch(b, []);
  await lake.close();
  total = 3 * 3 * 1440 * 2;
  duck = await DuckDBInstance.create(':memory:');
});
after(async () => {
  duck.closeSync();
  tmp.cleanup();
});

test('lake_archive --dry-run lists partitions, files and bytes before/after and changes nothing', async () => {
  const snap = snapshot(lakeDir);
  const r = await cli(['jobs', 'run', 'lake_archive', '--dry-run', '--to', '2024-03-04'], { SENSORPIPE_LAKE__ARCHIVE__AFTER_DAYS: '1' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /DRY RUN \(nothing changed\): lake_archive: 1 of 1 window/);
  assert.match(r.stdout, /^dir\s+to\s+files\s+rows\s+bytes\s+bytesAfter/m);
  assert.match(r.stdout, /^raw\/date=2024-03-01\s+archive\/raw\/date=2024-03-01\s+\d+\s+8640\s+\d+\s+\d+/m);
  assert.match(r.stdout, /^raw\/date=2024-03-02\s+archive\/raw\/date=2024-03-02\s+\d+\s+8640\s/m);
  assert.doesNotMatch(r.stdout, /date=2024-03-03/, 'the last day is younger than afterDays');
  assert.match(r.stdout, /^estimate: bytesAfter re-encodes raw\/date=2024-03-01 at zstd 19/m);
  assert.deepEqual(snapshot(lakeDir), snap, 'no file changed');

  const off = await cli(['jobs', 'run', 'lake_archive', '--dry-run', '--to', '2024-03-04']);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /skipped .*lake\.archive\.afterDays is null/);
});

test('lake_compact then lake_archive from the CLI: every row stays, in fewer files', async () => {
  const conn = await duck.connect();
  try {
    assert.equal(await countWithDocsRule(conn, lakeDir), total);
    const before = snapshot(join(lakeDir, 'raw')).length;
    const c = await cli(['jobs', 'run', 'lake_compact', '--to', '2024-03-03']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /lake_compact: 1 of 1 window .* 1 ok/);
    assert.match(c.stdout, /^raw\/date=2024-03-01\s+raw\/date=2024-03-01\s+\d+\s+8640\s/m);
    assert.equal(await countWithDocsRule(conn, lakeDir), total);
    const a = await cli(['jobs', 'run', 'lake_archive', '--to', '2024-03-04'], { SENSORPIPE_LAKE__ARCHIVE__AFTER_DAYS: '1' });
    assert.equal(a.code, 0, a.stderr);
    const archived = (await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${lakeDir}/archive/raw/**/*.parquet')`)).getRowObjectsJS()[0];
    assert.equal(Number(archived.n), 2 * 8640, 'days 1 and 2 are in the archive');
    assert.equal((await countWithDocsRule(conn, lakeDir)) + Number(archived.n), total, 'raw (day 3) + archive = every row once');
    assert.ok(before > 20, `${before} small files before`);
    const hist = await cli(['jobs', 'history', '--job', 'lake_archive', '--json']);
    assert.equal(JSON.parse(hist.stdout.trim().split('\n')[0]).status, 'ok', 'the run is recorded in job_runs');
  } finally {
    conn.closeSync();
  }
});
