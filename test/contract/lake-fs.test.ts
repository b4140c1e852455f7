import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import type { Logger } from '../../src/core/types.js';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';
import { rawFilePath } from '../../src/sinks/lake/layout.js';
import { batchOf, fleetBatches, message, reading } from '../helpers/lake-batches.js';
import { runLakeContract, type LakeKind } from './lake.contract.js';

let duck: DuckDBInstance;
let conn: DuckDBConnection;
before(async () => {
  duck = await DuckDBInstance.create(':memory:');
  conn = await duck.connect();
});
after(() => {
  conn.closeSync();
  duck.closeSync();
});

const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;

async function query(q: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[];
}

const TIMESTAMP_COLUMNS = new Set(['ts', 'received_at']);

/** Canonical contract row: timestamps as epoch ms, bigints as numbers. */
function normalize(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? Number(v) : v;
  return out;
}

async function parquetFiles(dir: string, kind: LakeKind): Promise<string[]> {
  const rows = await query(`SELECT file FROM glob(${sql(join(dir, kind, '**', '*.parquet'))}) ORDER BY file`);
  return rows.map((r) => r.file as string);
}

/** The lake read back with DuckDB, file by file in path order, rows in stored order, columns from the files only. */
async function readWithDuckDB(dir: string, kind: LakeKind): Promise<Record<string, unknown>[]> {
  const files = await parquetFiles(dir, kind);
  if (files.length === 0) return [];
  const columns = (await query(`DESCRIBE SELECT * FROM read_parquet(${sql(files[0])}, hive_partitioning = false)`)).map((r) => r.column_name as string);
  const select = columns.map((c) => (TIMESTAMP_COLUMNS.has(c) ? `epoch_us(${c}) / 1000 AS ${c}` : c)).join(', ');
  const rows = await query(
    `SELECT ${select}, filename FROM read_parquet(${sql(join(dir, kind, '**', '*.parquet'))}, hive_partitioning = false, filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
  );
  return rows.map(({ filename, ...rest }) => ({ ...normalize(rest), _file: relative(dir, filename as string).split('\\').join('/') }));
}

async function listAll(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

for (const partitioning of ['date', 'date_sensor'] as const) {
  runLakeContract(`FsLake (${partitioning})`, async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'sensorpipe-lake-')), 'lake');
    const open = () => FsLake.open({ dir, partitioning, zstdLevel: 6 });
    return {
      lake: await open(),
      partitioning,
      readAll: (kind) => readWithDuckDB(dir, kind),
      listFiles: () => listAll(dir),
      reopen: open,
      cleanup: () => rm(join(dir, '..'), { recursive: true, force: true }),
    };
  });
}

// ---- file-system specifics -------------------------------------------------------------------

const T = Date.UTC(2024, 2, 1, 8, 30);
const fleetBatch = batchOf([
  message(1, { receivedAt: T + 900, deviceId: 'dev-1', readings: [reading('plant:a.1', 'temperature', T, 21.5, 1), reading('plant:a.1', 'humidity', T, 40.1, 1)] }),
  message(2, { receivedAt: T + 950, deviceId: 'dev-2', readings: [reading('123', 'temperature', T + 1, -0.5, null), reading('123', 'temperature', Date.UTC(2024, 2, 2), 3.75, 2)] }),
  message(3, {
    receivedAt: T + 999,
    quarantined: [{ reason: 'out_of_range', detail: 'too hot', sensorId: '123', metric: 'temperature', ts: T, payload: '{"temperature":999}' }],
  }),
]);

function hasZstdCli(): boolean {
  return spawnSync('zstd', ['--version']).status === 0;
}

const zstdCompressors = {
  // Node 20 has no zstd and hyparquet only ships snappy; the zstd CLI keeps the reader independent of DuckDB.
  ZSTD: (input: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-d', '-c', '-q'], { input, maxBuffer: 1 << 30 })),
};

async function readWithHyparquet(dir: string, kind: LakeKind): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const path of await parquetFiles(dir, kind)) {
    const file = await asyncBufferFromFile(path);
    const objects = await parquetReadObjects({ file, compressors: zstdCompressors, parsers: { timestampFromMicroseconds: (us: bigint) => Number(us) / 1000 } });
    for (const o of objects) rows.push({ ...normalize(o), _file: relative(dir, path).split('\\').join('/') });
  }
  return rows;
}

for (const partitioning of ['date', 'date_sensor'] as const) {
  describe(`FsLake on disk (${partitioning})`, () => {
    let root: string;
    let dir: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'sensorpipe-lake-fs-'));
      dir = join(root, 'lake');
      const lake = await FsLake.open({ dir, partitioning, zstdLevel: 6 });
      await lake.writeBatch(fleetBatch, []);
      await lake.close();
    });
    after(() => rm(root, { recursive: true, force: true }));

    test('DuckDB hive_partitioning reads the same rows, with partition columns that agree with the data', async () => {
      const plain = await readWithDuckDB(dir, 'raw');
      const hive = await query(
        `SELECT *, epoch_us(ts) / 1000 AS ts_ms, filename FROM read_parquet(${sql(join(dir, 'raw', '**', '*.parquet'))}, hive_partitioning = true, filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
      );
      assert.equal(hive.length, plain.length);
      assert.equal(hive.length, 4);
      hive.forEach((h, i) => {
        assert.equal(h.sensor_id, plain[i].sensor_id, 'sensor_id stays the exact VARCHAR id (also "123", also with ":")');
        assert.equal(h.value, plain[i].value);
        assert.equal(h.ts_ms, plain[i].ts);
        assert.ok(h.date instanceof Date, 'date partition is read as a DATE');
        assert.equal((h.date as Date).toISOString().slice(0, 10), new Date(plain[i].ts as number).toISOString().slice(0, 10));
      });
      if (partitioning === 'date_sensor') {
        const files = (await listAll(dir)).filter((f) => f.startsWith('raw/'));
        assert.ok(files.some((f) => f.includes('/sensor_id=plant%3Aa.1/')), `':' is percent-encoded in the path: ${files.join(', ')}`);
      }
      const describeRows = await query(`DESCRIBE SELECT * FROM read_parquet(${sql(join(dir, 'raw', '**', '*.parquet'))}, hive_partitioning = true)`);
      assert.equal(describeRows.find((r) => r.column_name === 'sensor_id')?.column_type, 'VARCHAR');
      const q = await query(`SELECT reason, date FROM read_parquet(${sql(join(dir, 'quarantine', '**', '*.parquet'))}, hive_partitioning = true)`);
      assert.deepStrictEqual(q.map((r) => [r.reason, (r.date as Date).toISOString().slice(0, 10)]), [['out_of_range', '2024-03-01']]);
    });

    test('hyparquet (an independent reader) reads the same rows as DuckDB', { skip: hasZstdCli() ? false : 'the zstd command is not installed (hyparquet needs it to decompress zstd pages on Node 20)' }, async () => {
      for (const kind of ['raw', 'quarantine'] as const) {
        const viaDuck = await readWithDuckDB(dir, kind);
        assert.ok(viaDuck.length > 0);
        assert.deepStrictEqual(await readWithHyparquet(dir, kind), viaDuck);
      }
    });

    test('row groups carry min/max statistics and are zstd-compressed', async () => {
      for (const file of [...(await parquetFiles(dir, 'raw')), ...(await parquetFiles(dir, 'quarantine'))]) {
        const meta = await query(`SELECT path_in_schema, compression, stats_min, stats_max, stats_min_value, stats_max_value FROM parquet_metadata(${sql(file)})`);
        for (const col of ['sensor_id', 'metric', 'ts', 'spool_offset']) {
          const m = meta.find((r) => r.path_in_schema === col);
          assert.ok(m, `${file}: column ${col}`);
          assert.equal(m.compression, 'ZSTD');
          assert.ok((m.stats_min_value ?? m.stats_min) !== null && (m.stats_max_value ?? m.stats_max) !== null, `${file}: ${col} has min/max statistics`);
        }
      }
    });

    test('a leftover .tmp-* file is never matched by *.parquet globs and is removed (and logged) on open', async () => {
      const partition = (await listAll(dir)).find((f) => f.startsWith('raw/'))!.split('/').slice(0, -1).join('/');
      const leftover = `${partition}/.tmp-part-0000000000000007.1a2b3c`;
      await writeFile(join(dir, leftover), 'PAR1 half a file');
      await writeFile(join(dir, '_state', '.tmp-committed-offset.abcdef'), '9');
      const globbed = await query(`SELECT file FROM glob(${sql(join(dir, '**', '*.parquet'))})`);
      assert.ok(globbed.length > 0);
      assert.ok(globbed.every((r) => !(r.file as string).includes('.tmp-')), 'the glob never sees temporaries');
      await readWithDuckDB(dir, 'raw'); // and a read does not trip over them
      const warnings: unknown[] = [];
      const logger: Logger = { info() {}, debug() {}, error() {}, warn: (o) => void warnings.push(o), child: () => logger };
      const lake = await FsLake.open({ dir, partitioning, zstdLevel: 6, logger });
      await lake.close();
      const files = await listAll(dir);
      assert.ok(!files.some((f) => f.includes('.tmp-')), files.join(', '));
      assert.deepStrictEqual(warnings, [{ removed: ['_state/.tmp-committed-offset.abcdef', leftover].sort() }]);
    });

    test('a write that fails midway leaves no temporaries, keeps the high-water mark, and the retry completes it', async () => {
      const lake = await FsLake.open({ dir, partitioning, zstdLevel: 6 });
      try {
        const mark = await lake.committedOffset();
        const t = Date.UTC(2030, 0, 1, 23, 59);
        const batch = batchOf([message(50, { receivedAt: t, readings: [reading('s-1', 'temperature', t, 1), reading('s-1', 'temperature', t + 120_000, 2)] })]);
        // a non-empty directory where the second file must go: encoding succeeds, the second rename fails
        const blocked = rawFilePath(partitioning, t + 120_000, 's-1', 50);
        await mkdir(join(dir, blocked), { recursive: true });
        await writeFile(join(dir, blocked, 'x'), 'x');
        await assert.rejects(lake.writeBatch(batch, []));
        assert.deepStrictEqual((await listAll(dir)).filter((f) => f.includes('.tmp-')), []);
        assert.equal(await lake.committedOffset(), mark);
        await rm(join(dir, blocked), { recursive: true });
        const { files } = await lake.writeBatch(batch, []);
        assert.deepStrictEqual(files, [rawFilePath(partitioning, t, 's-1', 50), blocked]);
        assert.equal(await lake.committedOffset(), 50);
        assert.equal((await readWithDuckDB(dir, 'raw')).filter((r) => r.spool_offset === 50).length, 2);
      } finally {
        await lake.close();
      }
    });
  });
}

describe('docs/lake.md: every SQL example runs against a lake', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sensorpipe-lake-docs-'));
    const lake = await FsLake.open({ dir: join(root, 'lake'), partitioning: 'date', zstdLevel: 6 });
    for (const b of fleetBatches({ sensors: 50, startMs: Date.UTC(2024, 2, 1, 23, 30), minutes: 60, recordsPerBatch: 1000 })) await lake.writeBatch(b, []);
    const t = Date.UTC(2024, 2, 2, 1);
    await lake.writeBatch(
      batchOf([
        message(100_000, { receivedAt: t, readings: [reading('sensor-0042', 'temperature', t, 20), reading('sensor-0042', 'temperature', t, 20)] }),
        message(100_001, { receivedAt: t, quarantined: [{ reason: 'out_of_range', detail: 'humidity 140 above max 100', sensorId: 'sensor-0042', metric: 'humidity', ts: t, payload: '140' }] }),
      ]),
      [],
    );
    await lake.close();
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('each sql block returns rows', async () => {
    const doc = await readFile(new URL('../../docs/lake.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.length >= 5, `found ${blocks.length} sql blocks`);
    for (const block of blocks) {
      const q = block.replaceAll("'data/lake/", `'${join(root, 'lake').replaceAll("'", "''")}/`);
      const rows = (await conn.runAndReadAll(q)).getRowObjectsJS();
      assert.ok(rows.length > 0, `no rows from:\n${block}`);
    }
  });
});
