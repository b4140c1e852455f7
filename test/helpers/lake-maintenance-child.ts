/**
 * Crash-test child for the lake jobs: opens the lake, arms the crash points
 * (SENSORPIPE_CRASH_AT=<point>:<n>), then runs the job twice: at `now`, and once the grace period
 * has passed (so the sweep deletes the replaced files). A kill can land at any step of either run.
 *
 * Usage: node --import tsx lake-maintenance-child.ts <lakeDir> <compact|archive> <windowEndMs> <graceMs>
 */
import type { JobContext } from '../../src/core/jobs.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { armCrashPoints } from '../../src/core/faults.js';
import { silentLogger } from '../../src/core/types.js';
import { LakeArchiveJob, LakeCompactJob } from '../../src/jobs/lake-jobs.js';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';

const [dir, mode, endArg, graceArg] = process.argv.slice(2);
const end = Number(endArg);
const graceMs = Number(graceArg);
const DAY = 86_400_000;

export function lakeJob(mode: string, graceMs: number) {
  return mode === 'compact'
    ? new LakeCompactJob({ minFiles: 2, smallFileBytes: 64 << 20, zstdLevel: 6, graceMs })
    : new LakeArchiveJob({ afterDays: 1, zstdLevel: 19, graceMs });
}

export function jobCtx(lake: FsLake, now: number): JobContext {
  return { warehouse: undefined as unknown as Warehouse, lake, clock: { now: () => now }, logger: silentLogger, dryRun: false };
}

if (dir) {
  const lake = await FsLake.open({ dir, partitioning: 'date', zstdLevel: 6 });
  armCrashPoints();
  const job = lakeJob(mode, graceMs);
  await job.run({ start: end - DAY, end }, jobCtx(lake, end));
  await job.run({ start: end - DAY, end }, jobCtx(lake, end + graceMs));
  await lake.close();
  process.stdout.write('done\n');
}
