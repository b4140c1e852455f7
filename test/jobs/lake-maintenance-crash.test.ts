// kill -9 at every step of compaction and archiving (crash points, src/core/faults.ts): afterwards a
// reader following the manifest sees the old set or the new set of files, every row exactly once,
// and a re-run completes the job.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';
import { batchOf, fleetBatches, message } from '../helpers/lake-batches.js';
import { jobCtx, lakeJob } from '../helpers/lake-maintenance-child.js';
import { fingerprint, readLive, snapshot } from '../helpers/lake-read.js';

const CHILD = fileURLToPath(new URL('../helpers/lake-maintenance-child.ts', import.meta.url));
const DAY = 86_400_000;
const D1 = Date.UTC(2024, 2, 1);
const END = D1 + 2 * DAY; // days 1 and 2 closed; archive (afterDays 1) moves day 1
const GRACE = 600_000;

let root: string;
let template: string;
let expected: { raw: string[]; quarantine: string[]; initial: Map<string, string[]> };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sensorpipe-lake-crash-'));
  template = join(root, 'template');
  const lake = await FsLake.open({ dir: template, partitioning: 'date', zstdLevel: 6 });
  for (const b of fleetBatches({ sensors: 1, startMs: D1, minutes: 3 * 1440, recordsPerBatch: 240 })) await lake.writeBatch(b, []);
  for (let i = 0; i < 3; i++) {
    const t = D1 + 3600_000 * (i + 1);
    await lake.writeBatch(batchOf([message(900_000 + i, { receivedAt: t, quarantined: [{ reason: 'schema', detail: 'no readings', sensorId: null, metric: null, ts: null, payload: '{}' }] })]), []);
  }
  await lake.close();
  const raw = await readLive(template, 'raw');
  const initial = new Map<string, string[]>();
  for (const f of raw.files) {
    const day = f.split('/')[1];
    initial.set(day, [...(initial.get(day) ?? []), f]);
  }
  expected = { raw: fingerprint(raw.rows), quarantine: fingerprint((await readLive(template, 'quarantine')).rows), initial };
});
after(() => rm(root, { recursive: true, force: true }));

/** Live rows of a data set, wherever they are now (live or archived). */
async function rowsOf(dir: string, prefix: string): Promise<{ files: string[]; rows: string[] }> {
  const live = await readLive(dir, prefix);
  const archived = await readLive(dir, `archive/${prefix}`);
  return { files: [...live.files, ...archived.files], rows: fingerprint([...live.rows, ...archived.rows]) };
}

function assertOldOrNew(files: string[], day: string, where: string): void {
  const mine = files.filter((f) => f.includes(`/${day}/`));
  const old = expected.initial.get(day)!;
  const isOld = JSON.stringify(mine) === JSON.stringify(old);
  const isNew = mine.length === 1 && /compact-g\d+-0000\.parquet$/.test(mine[0]);
  assert.ok(isOld || isNew, `${where}: ${day} shows ${mine.length} live files, neither the old set (${old.length}) nor one merged file: ${mine.join(', ')}`);
}

const POINTS: Record<'compact' | 'archive', string[]> = {
  compact: [
    'lake.rewrite.before-publish:1',
    'lake.before-rename:1', // the merged file fsync'd, not renamed
    'lake.after-rename:1', // the merged file renamed, its directory not fsync'd
    'lake.rewrite.after-publish:1',
    'lake.before-rename:2', // the new manifest written, not renamed
    'lake.after-rename:2', // manifest swapped
    'lake.rewrite.after-manifest:1',
    'lake.rewrite.after-manifest:2',
    'lake.sweep.before-delete:1',
    'lake.sweep.after-delete:1',
  ],
  archive: ['lake.rewrite.after-publish:1', 'lake.after-rename:2', 'lake.rewrite.after-manifest:1', 'lake.sweep.before-delete:1'],
};

for (const mode of ['compact', 'archive'] as const) {
  describe(`lake_${mode} killed at each step`, () => {
    for (const point of POINTS[mode]) {
      test(point, async () => {
        const dir = join(root, `${mode}-${point.replaceAll(/[.:]/g, '_')}`);
        await cp(template, dir, { recursive: true });
        const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir, mode, String(END), String(GRACE)], {
          env: { ...process.env, SENSORPIPE_CRASH_AT: point },
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(r.signal, 'SIGKILL', `the child must die at ${point}; status ${r.status}, stderr: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`killing the process at ${point.split(':')[0]}`));

        const raw = await rowsOf(dir, 'raw');
        assert.deepEqual(raw.rows, expected.raw, 'after the crash every raw row is visible exactly once');
        assert.deepEqual((await rowsOf(dir, 'quarantine')).rows, expected.quarantine);
        for (const day of ['date=2024-03-01', 'date=2024-03-02']) assertOldOrNew(raw.files, day, 'after the crash');

        // Restart and re-run: the lake removes leftovers when it opens, the job completes.
        const lake = await FsLake.open({ dir, partitioning: 'date', zstdLevel: 6 });
        try {
          const job = lakeJob(mode, GRACE);
          await job.run({ start: END - DAY, end: END }, jobCtx(lake, END + 2 * GRACE));
          await job.run({ start: END - DAY, end: END }, jobCtx(lake, END + 4 * GRACE));
        } finally {
          await lake.close();
        }
        const done = await rowsOf(dir, 'raw');
        assert.deepEqual(done.rows, expected.raw, 'after the re-run every raw row is visible exactly once');
        assert.deepEqual((await rowsOf(dir, 'quarantine')).rows, expected.quarantine);
        const closed = mode === 'compact' ? ['date=2024-03-01', 'date=2024-03-02'] : ['date=2024-03-01'];
        for (const day of closed) {
          const mine = done.files.filter((f) => f.includes(`/${day}/`));
          assert.equal(mine.length, 1, `${day} ends as one file: ${mine.join(', ')}`);
          if (mode === 'archive') assert.ok(mine[0].startsWith('archive/raw/'), mine[0]);
        }
        const left = snapshot(dir).map((l) => l.split(' ')[0]);
        assert.deepEqual(left.filter((f) => f.split('/').pop()!.startsWith('.tmp-')), [], 'no temporary file is left');
        const live = [...done.files, ...(await rowsOf(dir, 'quarantine')).files].sort();
        assert.deepEqual(left.filter((f) => f.endsWith('.parquet')).sort(), live, 'after the sweep only live files remain');
      });
    }
  });
}
