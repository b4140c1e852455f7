/**
 * The lake's maintenance jobs (docs/lake.md): `lake_compact` merges the small files of closed
 * partitions, `lake_archive` moves partitions older than `lake.archive.afterDays` below
 * `lake/archive/`. Both end with a sweep that deletes files replaced at least
 * `lake.replacedFileGraceS` ago. They share one lock (both rewrite the lake manifest).
 *
 * A run over the day window [start, end) handles every partition whose day ended by `end` (or by
 * `end - afterDays`), so after downtime only the newest window runs. With `dryRun` they report the
 * partitions, files and bytes they would rewrite (archive: with a size estimate) and change nothing.
 */
import type { JobContext, JobResult, TimeWindow } from '../core/jobs.js';
import { LakeMaintenance, type MaintenanceHooks, type PartitionReport } from '../sinks/lake/maintenance.js';
import { ParquetLake } from '../sinks/lake/parquet-lake.js';
import { ARCHIVE_PREFIX, DATA_PREFIXES, archivePrefixOf } from '../sinks/lake/partitions.js';
import type { ScheduledJob } from './types.js';
import { DAY, iso } from './windows.js';

export const LAKE_LOCK = 'lake';

const SWEPT_PREFIXES = [...DATA_PREFIXES, ...DATA_PREFIXES.map(archivePrefixOf)];

function maintenanceOf(ctx: JobContext, hooks?: MaintenanceHooks): LakeMaintenance | null {
  return ctx.lake instanceof ParquetLake ? new LakeMaintenance(ctx.lake.store, hooks) : null;
}

const NO_LAKE = { rows: 0, detail: { skipped: 'no Parquet lake in this process (the job runs where the lake is)' } };

function totals(parts: PartitionReport[]) {
  const sum = (f: (p: PartitionReport) => number | undefined) => parts.reduce((n, p) => n + (f(p) ?? 0), 0);
  return { partitions: parts.length, files: sum((p) => p.files), bytes: sum((p) => p.bytes), bytesAfter: sum((p) => p.bytesAfter), rows: sum((p) => p.rows) };
}

export interface LakeCompactOptions {
  minFiles: number;
  smallFileBytes: number;
  zstdLevel: number;
  graceMs: number;
  /** Rows per row group of merged files (tests; default the lake's). */
  rowGroupSize?: number;
  hooks?: MaintenanceHooks;
}

export class LakeCompactJob implements ScheduledJob {
  readonly name = 'lake_compact';
  readonly windowMs = DAY;
  readonly catchUp = 'latest' as const;
  readonly lockKey = LAKE_LOCK;
  readonly description = 'merges the small Parquet files of closed lake partitions into one sorted file each';

  constructor(private readonly opts: LakeCompactOptions) {}

  async run(window: TimeWindow, ctx: JobContext): Promise<JobResult> {
    const m = maintenanceOf(ctx, this.opts.hooks);
    if (!m) return NO_LAKE;
    const now = ctx.clock.now();
    const partitions: PartitionReport[] = [];
    for (const prefix of DATA_PREFIXES) {
      partitions.push(
        ...(await m.compact(prefix, { before: window.end, minFiles: this.opts.minFiles, smallFileBytes: this.opts.smallFileBytes, zstdLevel: this.opts.zstdLevel, rowGroupSize: this.opts.rowGroupSize, dryRun: ctx.dryRun, now })),
      );
    }
    const sweep = await m.sweep(SWEPT_PREFIXES, now, this.opts.graceMs, ctx.dryRun);
    if (partitions.length > 0 && !ctx.dryRun) ctx.logger.info({ ...totals(partitions) }, 'lake partitions compacted');
    return {
      rows: totals(partitions).rows,
      detail: { ...(ctx.dryRun ? { dryRun: true } : {}), closedBefore: iso(window.end), ...totals(partitions), partitionsDetail: partitions, replacedFilesDeleted: sweep.deleted.length, replacedFilesPending: sweep.pending },
    };
  }

  /**
   * Between daily windows (the hourly firings): deletes replaced files once their grace period has
   * passed, so a plain glob over the lake sees a compacted day twice for at most about grace + 1 h.
   */
  async runPending(ctx: JobContext): Promise<(JobResult & { window: TimeWindow }) | null> {
    const m = maintenanceOf(ctx, this.opts.hooks);
    if (!m) return null;
    const now = ctx.clock.now();
    const sweep = await m.sweep(SWEPT_PREFIXES, now, this.opts.graceMs, ctx.dryRun);
    if (sweep.deleted.length === 0) return null;
    return { rows: 0, window: { start: now, end: now }, detail: { replacedFilesDeleted: sweep.deleted.length, replacedFilesPending: sweep.pending } };
  }
}

export interface LakeArchiveOptions {
  afterDays: number | null;
  zstdLevel: number;
  graceMs: number;
  hooks?: MaintenanceHooks;
}

export class LakeArchiveJob implements ScheduledJob {
  readonly name = 'lake_archive';
  readonly windowMs = DAY;
  readonly catchUp = 'latest' as const;
  readonly lockKey = LAKE_LOCK;
  readonly description = `moves lake partitions older than lake.archive.afterDays to lake/${ARCHIVE_PREFIX}/ with stronger compression`;

  constructor(private readonly opts: LakeArchiveOptions) {}

  async run(window: TimeWindow, ctx: JobContext): Promise<JobResult> {
    if (this.opts.afterDays === null) return { rows: 0, detail: { skipped: 'lake.archive.afterDays is null: archiving is off (set it to a number of days)' } };
    const m = maintenanceOf(ctx, this.opts.hooks);
    if (!m) return NO_LAKE;
    const now = ctx.clock.now();
    const before = window.end - this.opts.afterDays * DAY;
    const partitions: PartitionReport[] = [];
    let estimate: string | undefined;
    for (const prefix of DATA_PREFIXES) {
      const r = await m.archive(prefix, archivePrefixOf(prefix), { before, zstdLevel: this.opts.zstdLevel, dryRun: ctx.dryRun, now });
      partitions.push(...r.partitions);
      estimate ??= r.estimate;
    }
    const sweep = await m.sweep(SWEPT_PREFIXES, now, this.opts.graceMs, ctx.dryRun);
    if (partitions.length > 0 && !ctx.dryRun) ctx.logger.info({ ...totals(partitions) }, `lake partitions archived to ${ARCHIVE_PREFIX}/`);
    return {
      rows: totals(partitions).rows,
      detail: {
        ...(ctx.dryRun ? { dryRun: true } : {}),
        olderThan: iso(before),
        ...totals(partitions),
        ...(estimate ? { estimate } : {}),
        partitionsDetail: partitions,
        replacedFilesDeleted: sweep.deleted.length,
        replacedFilesPending: sweep.pending,
      },
    };
  }
}
