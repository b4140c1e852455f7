// The lake contract against Azure Blob Storage, served by Azurite (npm `azurite`, started here as a
// child on an ephemeral port). Files are read back by downloading the blobs with the SDK's own client
// (not the store under test) and decoding them with hyparquet. Plus Azure specifics: the lake jobs
// (compaction, archive, sweep) through the store, the manifest's conditional write, config and env.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import type { JobContext } from '../../src/core/jobs.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { silentLogger, type Logger } from '../../src/core/types.js';
import { LakeArchiveJob, LakeCompactJob } from '../../src/jobs/lake-jobs.js';
import { AzureLake } from '../../src/sinks/lake/azure-lake.js';
import { AzureBlobLakeStore } from '../../src/sinks/lake/azure-store.js';
import { liveFiles, readManifest, writeManifest } from '../../src/sinks/lake/manifest.js';
import { openLake } from '../../src/sinks/lake/open-lake.js';
import { ManifestConflictError } from '../../src/sinks/lake/store.js';
import { batchOf, fleetBatches, message, reading } from '../helpers/lake-batches.js';
import { fingerprint, type Row } from '../helpers/lake-read.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { startServer } from '../helpers/server.js';
import { runLakeContract, type LakeKind } from './lake.contract.js';

let azurite: Azurite | null = null;
let unavailable = '';
try {
  azurite = await startAzurite();
} catch (err) {
  unavailable = (err as Error).message;
  const banner = `\n${'!'.repeat(100)}\nAZURE LAKE TESTS SKIPPED: Azurite could not be started (npm install should have installed the azurite devDependency):\n${unavailable}\n${'!'.repeat(100)}\n`;
  if (process.env.CI === 'true') throw new Error(`CI=true: the Azure lake tests must run, but ${banner}`);
  console.error(banner);
}
after(() => azurite?.stop());

const scratchRoots: string[] = [];
after(() => Promise.all(scratchRoots.map((d) => rm(d, { recursive: true, force: true }))));

async function scratchDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sensorpipe-lake-scratch-'));
  scratchRoots.push(d);
  return d;
}

function service(): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(azurite!.connectionString);
}

const newContainer = () => `lake-${randomBytes(6).toString('hex')}`;

/** Every blob below `prefix` of a container, relative to it, sorted. */
async function listBlobs(c: ContainerClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of c.listBlobsFlat({ prefix })) out.push(b.name.slice(prefix.length));
  return out.sort();
}

async function readBlobRows(c: ContainerClient, name: string): Promise<Row[]> {
  const buf = await c.getBlobClient(name).downloadToBuffer();
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file, compressors, parsers: { timestampFromMicroseconds: (us: bigint) => Number(us) / 1000 } });
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

/** Rows of every Parquet blob under `<root><kind>/`, in path order, `_file` relative to the lake root. */
async function readAll(c: ContainerClient, root: string, kind: LakeKind): Promise<Row[]> {
  const rows: Row[] = [];
  for (const rel of (await listBlobs(c, `${root}${kind}/`)).filter((n) => n.endsWith('.parquet'))) {
    for (const r of await readBlobRows(c, `${root}${kind}/${rel}`)) rows.push({ ...r, _file: `${kind}/${rel}` });
  }
  return rows;
}

if (!azurite) {
  test('Azure Blob lake contract (Azurite)', { skip: `Azurite could not be started: ${unavailable}` }, () => undefined);
} else {
  // The date layout at the container root, the date_sensor layout below a prefix: both paths of the store.
  for (const [partitioning, prefix] of [['date', ''], ['date_sensor', 'sensorpipe/lake']] as const) {
    runLakeContract(`AzureLake (${partitioning}${prefix ? `, prefix ${prefix}` : ''}) on Azurite`, async () => {
      const container = newContainer();
      const root = prefix ? `${prefix}/` : '';
      const c = service().getContainerClient(container);
      const scratch = await scratchDir();
      const open = () => AzureLake.open({ azure: { connectionString: azurite!.connectionString, container, prefix, scratchDir: scratch }, partitioning, zstdLevel: 6 });
      return {
        lake: await open(),
        partitioning,
        readAll: (kind) => readAll(c, root, kind),
        listFiles: () => listBlobs(c, root),
        reopen: open,
        cleanup: async () => {
          await c.deleteIfExists();
          assert.deepEqual(await readdir(scratch), [], 'a closed lake leaves nothing in its scratch directory');
        },
      };
    });
  }

  describe('AzureLake specifics on Azurite', () => {
    const DAY = 86_400_000;
    const D1 = Date.UTC(2024, 2, 1);
    const ctxOf = (lake: AzureLake, now: number): JobContext => ({ warehouse: undefined as unknown as Warehouse, lake, clock: { now: () => now }, logger: silentLogger, dryRun: false });

    async function liveRows(c: ContainerClient, store: AzureBlobLakeStore, prefix: string): Promise<{ files: string[]; rows: Row[] }> {
      const files = await liveFiles(store, prefix);
      const rows: Row[] = [];
      for (const f of files) rows.push(...(await readBlobRows(c, f)));
      return { files, rows };
    }

    test('compaction, archive and sweep run through the store: every row once, replaced blobs deleted after the grace period', async () => {
      const container = newContainer();
      const c = service().getContainerClient(container);
      const azure = { connectionString: azurite!.connectionString, container, prefix: '', scratchDir: await scratchDir() };
      const lake = await AzureLake.open({ azure, partitioning: 'date', zstdLevel: 6 });
      const reader = AzureBlobLakeStore.create(azure);
      try {
        for (const b of fleetBatches({ sensors: 3, startMs: D1, minutes: 3 * 1440, recordsPerBatch: 600 })) await lake.writeBatch(b, []);
        const before = await liveRows(c, reader, 'raw');
        const day1Before = before.files.filter((f) => f.startsWith('raw/date=2024-03-01/'));
        assert.ok(day1Before.length >= 4, `day 1 has many small files (${day1Before.length})`);

        const grace = 15 * 60_000;
        const now = D1 + 3 * DAY;
        const compact = new LakeCompactJob({ minFiles: 4, smallFileBytes: 64 << 20, zstdLevel: 6, graceMs: grace });
        const r = await compact.run({ start: D1 + DAY, end: D1 + 2 * DAY }, ctxOf(lake, now));
        assert.equal(r.rows, 3 * 2 * 1440 * 2, 'two closed days of 3 sensors × 2 metrics, once a minute');
        const compacted = await liveRows(c, reader, 'raw');
        assert.deepEqual(fingerprint(compacted.rows), fingerprint(before.rows), 'same row multiset after compaction (hyparquet over the live blobs)');
        assert.deepEqual(compacted.files.filter((f) => f.startsWith('raw/date=2024-03-01/')), ['raw/date=2024-03-01/compact-g00000001-0000.parquet']);
        const blobs = await listBlobs(c, '');
        for (const f of day1Before) assert.ok(blobs.includes(f), `${f} stays for readers during the grace period`);

        const archive = new LakeArchiveJob({ afterDays: 1, zstdLevel: 19, graceMs: grace });
        await archive.run({ start: D1 + 2 * DAY, end: D1 + 3 * DAY }, ctxOf(lake, now + 60_000));
        const raw = await liveRows(c, reader, 'raw');
        const archived = await liveRows(c, reader, 'archive/raw');
        assert.deepEqual(archived.files.map((f) => f.split('/').slice(0, 3).join('/')), ['archive/raw/date=2024-03-01', 'archive/raw/date=2024-03-02']);
        assert.deepEqual(fingerprint([...raw.rows, ...archived.rows]), fingerprint(before.rows), 'raw + archive hold every row exactly once');
        assert.ok(raw.files.every((f) => f.startsWith('raw/date=2024-03-03/')), 'only the open day stays in raw');

        await archive.run({ start: D1 + 2 * DAY, end: D1 + 3 * DAY }, ctxOf(lake, now + 60_000 + grace + 1));
        const left = await listBlobs(c, '');
        for (const f of day1Before) assert.ok(!left.includes(f), `${f} was deleted after the grace period`);
        assert.deepEqual(fingerprint([...(await liveRows(c, reader, 'raw')).rows, ...(await liveRows(c, reader, 'archive/raw')).rows]), fingerprint(before.rows));
        assert.deepEqual((await readManifest(reader)).garbage.filter((g) => left.includes(g.path)).length, (await readManifest(reader)).garbage.length, 'the manifest lists no deleted blob as garbage');
      } finally {
        await lake.close();
        await reader.close();
        await c.deleteIfExists();
      }
    });

    test('the manifest is replaced only by a writer that read the current version (ETag): the second of two concurrent writers fails and changes nothing', async () => {
      const container = newContainer();
      const c = service().getContainerClient(container);
      const azure = { connectionString: azurite!.connectionString, container, prefix: 'p', scratchDir: await scratchDir() };
      const lake = await AzureLake.open({ azure, partitioning: 'date', zstdLevel: 6 });
      const a = AzureBlobLakeStore.create(azure);
      const b = AzureBlobLakeStore.create(azure);
      try {
        const ma = await readManifest(a);
        const mb = await readManifest(b);
        assert.equal(ma.generation, 0, 'opening the lake created an empty manifest');
        await writeManifest(a, { ...ma, generation: 1, updatedAt: 'A' });
        await assert.rejects(writeManifest(b, { ...mb, generation: 1, updatedAt: 'B' }), (err: Error) => err instanceof ManifestConflictError && /another process/.test(err.message));
        const now = await readManifest(b);
        assert.equal(now.updatedAt, 'A', 'the first writer wins, the second one changed nothing');
        await writeManifest(b, { ...now, generation: 2, updatedAt: 'B after reading A' });
        assert.equal((await readManifest(a)).updatedAt, 'B after reading A', 'after reading the current version the write goes through');
        const fresh = AzureBlobLakeStore.create(azure);
        await assert.rejects(writeManifest(fresh, now), ManifestConflictError, 'a store that never read the manifest may only create it, not replace it');
      } finally {
        await lake.close();
        await c.deleteIfExists();
      }
    });

    test('a batch whose upload fails leaves no local scratch file and no high-water mark; the retry writes it; a dead process\'s scratch folder is removed (and logged) on open', async () => {
      const container = newContainer();
      const c = service().getContainerClient(container);
      const scratch = await scratchDir();
      // A scratch folder left by a process that died mid-batch (the pid of a process that has exited).
      const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
      await mkdir(join(scratch, `${deadPid}-0badf00d`));
      await writeFile(join(scratch, `${deadPid}-0badf00d`, 'a1b2c3-part-0000000000000001.parquet'), 'PAR1 half a file');
      const warnings: unknown[] = [];
      const logger: Logger = { info() {}, debug() {}, error() {}, warn: (o) => void warnings.push(o), child: () => logger };
      const lake = await AzureLake.open({ azure: { connectionString: azurite!.connectionString, container, prefix: '', scratchDir: scratch }, partitioning: 'date', zstdLevel: 6, logger });
      try {
        assert.deepEqual(warnings, [{ removed: [`${deadPid}-0badf00d/a1b2c3-part-0000000000000001.parquet`] }]);
        assert.ok(!existsSync(join(scratch, `${deadPid}-0badf00d`)));
        const t = Date.UTC(2024, 4, 2, 10);
        const batch = batchOf([message(3, { receivedAt: t, readings: [reading('s-1', 'temperature', t, 1), reading('s-1', 'temperature', t + 120_000, 2)] })]);
        await c.delete(); // the storage goes away between opening and writing
        await assert.rejects(lake.writeBatch(batch, []), /could not upload raw\/date=2024-05-02\/part-0000000000000003\.parquet to azure:\/\/devstoreaccount1\//);
        assert.equal(await lake.committedOffset(), 0);
        const leftovers = (await readdir(scratch, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
        assert.deepEqual(leftovers, [], 'the encoded files were discarded');
        await c.create();
        const { files } = await lake.writeBatch(batch, []);
        assert.deepEqual(files, ['raw/date=2024-05-02/part-0000000000000003.parquet']);
        assert.equal(await lake.committedOffset(), 3);
        assert.deepEqual((await readAll(c, '', 'raw')).map((r) => r.value), [1, 2]);
      } finally {
        await lake.close();
        await c.deleteIfExists();
      }
    });

    test('a server with lake.kind azure writes what it ingests to the container, and GET /v1/catalog counts the live blobs', async () => {
      const container = newContainer();
      const dataDir = await scratchDir();
      const sp = await startServer(dataDir, { mqtt: { enabled: false }, lake: { kind: 'azure', azure: { connectionString: azurite!.connectionString, container, prefix: 'plant-7' } } });
      const c = service().getContainerClient(container);
      try {
        const admin = sp.auth.createToken('admin');
        const ts = '2024-05-02T10:00:00Z';
        const body = JSON.stringify([
          { sensor_id: 'az-1', ts, temperature: 21.25, humidity: 40.5 },
          { sensor_id: 'az-2', ts, temperature: -3.5 },
        ]);
        const res = await sp.http!.inject({ method: 'POST', url: '/v1/ingest', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: body });
        assert.equal(res.statusCode, 200, res.body);
        await sp.writer.drain();
        const raw = await readAll(c, 'plant-7/', 'raw');
        assert.deepEqual(raw.map((r) => [r.sensor_id, r.metric, r.value, r.ts]).sort(), [
          ['az-1', 'humidity', 40.5, Date.parse(ts)],
          ['az-1', 'temperature', 21.25, Date.parse(ts)],
          ['az-2', 'temperature', -3.5, Date.parse(ts)],
        ]);
        assert.ok(!existsSync(join(dataDir, 'lake', 'raw')), 'nothing of the lake is written to the local data directory');
        const cat = await sp.http!.inject({ method: 'GET', url: '/v1/catalog', headers: { authorization: `Bearer ${admin}` } });
        assert.equal(cat.statusCode, 200, cat.body);
        const lakeRaw = cat.json<{ datasets: { name: string; files: number; bytes: number }[] }>().datasets.find((d) => d.name === 'lake:raw');
        const blobs = (await listBlobs(c, 'plant-7/raw/')).filter((n) => n.endsWith('.parquet'));
        assert.equal(lakeRaw?.files, blobs.length);
        assert.ok(blobs.length > 0 && (lakeRaw?.bytes ?? 0) > 0);
      } finally {
        await sp.stop();
        await c.deleteIfExists();
      }
    });

    test('lake.kind azure from the environment (secrets as SENSORPIPE_LAKE__AZURE__*) opens a lake in the container; kind azure without lake.azure is refused', async () => {
      const container = newContainer();
      const dataDir = await scratchDir();
      const file = join(dataDir, 'sensorpipe.yaml');
      await writeFile(file, '');
      const config = loadConfig({
        file,
        env: {
          SENSORPIPE_DATA_DIR: dataDir,
          SENSORPIPE_LAKE__KIND: 'azure',
          SENSORPIPE_LAKE__AZURE__CONNECTION_STRING: azurite!.connectionString,
          SENSORPIPE_LAKE__AZURE__CONTAINER: container,
          SENSORPIPE_LAKE__AZURE__PREFIX: 'site-1/lake',
        },
      });
      const lake = await openLake(config.lake, { root: dataDir, lake: join(dataDir, 'lake') });
      const c = service().getContainerClient(container);
      try {
        const t = Date.UTC(2024, 4, 2, 10);
        const { files } = await lake.writeBatch(batchOf([message(7, { receivedAt: t, readings: [reading('s-1', 'temperature', t, 21.5)] })]), []);
        assert.deepEqual(files, ['raw/date=2024-05-02/part-0000000000000007.parquet']);
        assert.deepEqual(await listBlobs(c, 'site-1/lake/'), ['_state/committed-offset', '_state/manifest.json', 'raw/date=2024-05-02/part-0000000000000007.parquet']);
        assert.deepEqual((await readBlobRows(c, 'site-1/lake/raw/date=2024-05-02/part-0000000000000007.parquet')).map((r) => [r.sensor_id, r.value, r.ts]), [['s-1', 21.5, t]]);
      } finally {
        await lake.close();
        await c.deleteIfExists();
      }
      const problems = (env: NodeJS.ProcessEnv) => checkConfig({ file, env }).problems.map((p) => `${p.path}: ${p.message}`);
      assert.deepEqual(problems({ SENSORPIPE_LAKE__KIND: 'azure' }), ['lake.azure: lake.kind is azure: set lake.azure (container and credentials; docs/lake.md "Azure Blob / ADLS")']);
      const noKey = problems({ SENSORPIPE_LAKE__KIND: 'azure', SENSORPIPE_LAKE__AZURE__CONTAINER: container, SENSORPIPE_LAKE__AZURE__ACCOUNT_URL: 'https://acct.blob.core.windows.net' });
      assert.equal(noKey.length, 1);
      assert.match(noKey[0], /^lake\.azure: accountUrl needs accountKey or sasToken/);
    });
  });
}
