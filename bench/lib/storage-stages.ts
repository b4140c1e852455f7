/**
 * The lake at its three stages, each produced by the product's own code and measured over the live
 * files (the manifest's reader rule): (a) as the writer left it, (b) after `lake_compact`, (c) after
 * `lake_archive`, both jobs run with the settings of the default configuration.
 */
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { JobContext, TimeWindow } from '../../src/core/jobs.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { silentLogger } from '../../src/core/types.js';
import { LakeArchiveJob, LakeCompactJob } from '../../src/jobs/lake-jobs.js';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';
import { liveFiles } from '../../src/sinks/lake/manifest.js';
import { measureFiles, perReading, type FileSetSize, type PerReading } from './storage-measure.js';

const DAY = 86_400_000;

/** The defaults of `lake.*` and `jobs.lake_compact` that the jobs run with (read from the config schema). */
export interface LakeJobSettings {
  zstdLevel: number;
  archiveZstdLevel: number;
  minFiles: number;
  smallFileBytes: number;
  graceMs: number;
}

export interface StageResult {
  size: FileSetSize;
  perReading: PerReading;
  /** Partitions the job rewrote (compaction skips those with fewer than minFiles small files). */
  partitionsRewritten?: number;
  jobMs?: number;
}

export interface LakeStages {
  writer: StageResult;
  compacted: StageResult;
  archived: StageResult;
  /** Live files after lake_compact (absolute paths): the encoding grid's source. */
  compactedPaths: string[];
}

async function live(conn: DuckDBConnection, lake: FsLake, prefix: string): Promise<{ paths: string[]; size: FileSetSize }> {
  const paths = (await liveFiles(lake.store, prefix)).map((f) => join(lake.dir, f));
  return { paths, size: await measureFiles(conn, paths) };
}

/**
 * Runs lake_compact then lake_archive on the lake in `lakeDir`. `lastDayEnd` is the end (UTC
 * midnight) of the newest day in the lake: the jobs run as if it were that moment (compaction) and a
 * day later (archive, with afterDays 1), so every day is closed and old enough.
 */
export async function runStages(conn: DuckDBConnection, lakeDir: string, lastDayEnd: number, s: LakeJobSettings): Promise<LakeStages> {
  const lake = await FsLake.open({ dir: lakeDir, partitioning: 'date', zstdLevel: s.zstdLevel });
  const ctx = (now: number): JobContext => ({ warehouse: undefined as unknown as Warehouse, lake, clock: { now: () => now }, logger: silentLogger, dryRun: false });
  try {
    const writer = await live(conn, lake, 'raw');

    const compact = new LakeCompactJob({ minFiles: s.minFiles, smallFileBytes: s.smallFileBytes, zstdLevel: s.zstdLevel, graceMs: s.graceMs });
    const window: TimeWindow = { start: lastDayEnd - DAY, end: lastDayEnd };
    let t0 = performance.now();
    const c = await compact.run(window, ctx(lastDayEnd));
    const compactMs = Math.round(performance.now() - t0);
    const compacted = await live(conn, lake, 'raw');

    const archive = new LakeArchiveJob({ afterDays: 1, zstdLevel: s.archiveZstdLevel, graceMs: s.graceMs });
    t0 = performance.now();
    const a = await archive.run({ start: lastDayEnd, end: lastDayEnd + DAY }, ctx(lastDayEnd + DAY));
    const archiveMs = Math.round(performance.now() - t0);
    const archived = await live(conn, lake, 'archive/raw');

    const rewritten = (detail: Record<string, unknown>) => Number(detail.partitions ?? 0);
    for (const [name, st] of [['lake_compact', compacted.size], ['lake_archive', archived.size]] as const) {
      if (st.rows !== writer.size.rows) throw new Error(`${name} changed the number of rows in ${lakeDir}: ${writer.size.rows} before, ${st.rows} after`);
    }
    return {
      writer: { size: writer.size, perReading: perReading(writer.size) },
      compacted: { size: compacted.size, perReading: perReading(compacted.size), partitionsRewritten: rewritten(c.detail ?? {}), jobMs: compactMs },
      archived: { size: archived.size, perReading: perReading(archived.size), partitionsRewritten: rewritten(a.detail ?? {}), jobMs: archiveMs },
      compactedPaths: compacted.paths,
    };
  } finally {
    await lake.close();
  }
}
