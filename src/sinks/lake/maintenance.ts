/**
 * Lake maintenance: compaction (many small files of a closed partition → one large sorted file) and
 * archiving (a partition moves below `archive/`, re-encoded with stronger compression). Both are a
 * *rewrite* with the same three steps, so a reader following the manifest rule (manifest.ts) sees
 * the old set or the new set:
 *
 *   1. merge the consumed files into a new file `compact-g<generation>-0000.parquet`, published
 *      atomically under its final name (not live yet: no manifest entry names it);
 *   2. swap the manifest (one atomic write): the new file becomes live, the consumed ones stop
 *      being live (by name, and by `through` for the writer's `part-*` files);
 *   3. later, `sweep` deletes files that have not been live for the grace period.
 *
 * A crash after 1 leaves an unreferenced file (garbage, swept later; a re-run overwrites it under
 * the same generation); after 2 the new set is live and the old files are garbage. Everything here
 * goes through LakeStore, so it runs unchanged on the file system and on Azure Blob (azure-store.ts:
 * `openLocal` downloads the inputs, `publish` uploads the merged file, the manifest is a PUT
 * conditional on its ETag).
 *
 * Callers hold the lake jobs' lock: one maintenance run at a time per lake.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashPoint } from '../../core/faults.js';
import { liveNames, partOffset, readManifest, rewriteFileName, writeManifest, type LakeManifest, type PartitionEntry } from './manifest.js';
import { ParquetMerger } from './parquet-merge.js';
import { archiveDirOf, partitionDay, partitionDirOf } from './partitions.js';
import type { LakeFileInfo, LakeStore } from './store.js';

const DAY = 86_400_000;

/** Steps where tests interleave readers and crash points kill the process (named like the crash points). */
export type MaintenanceStep = 'lake.rewrite.before-publish' | 'lake.rewrite.after-publish' | 'lake.rewrite.after-manifest' | 'lake.sweep.before-delete' | 'lake.sweep.after-delete';

export interface MaintenanceHooks {
  /** Awaited at each step (tests only). */
  onStep?(step: MaintenanceStep, detail: { dir: string }): Promise<void> | void;
}

export interface PartitionReport {
  dir: string;
  /** Files read (and replaced, unless a dry run). */
  files: number;
  bytes: number;
  rows: number;
  /** Where the rows go (archive: the `archive/…` directory). */
  to: string;
  /** Size of the file written; in an archive dry run, an estimate. */
  bytesAfter?: number;
}

export interface CompactOptions {
  /** Only partitions whose day ended at or before this time (closed partitions). */
  before: number;
  /** A partition is compacted when it has at least this many live files smaller than `smallFileBytes`. */
  minFiles: number;
  smallFileBytes: number;
  zstdLevel: number;
  /** Rows per row group of merged files (default: the lake's, 122,880). */
  rowGroupSize?: number;
  dryRun: boolean;
  /** The job's clock (recorded in the manifest). */
  now: number;
}

export interface ArchiveOptions {
  /** Partitions whose day ended at or before this time move to `archive/`. */
  before: number;
  zstdLevel: number;
  dryRun: boolean;
  now: number;
}

interface DirState {
  dir: string;
  /** Every Parquet file listed in the directory, by name. */
  listed: Map<string, LakeFileInfo>;
  entry: PartitionEntry | undefined;
  live: LakeFileInfo[];
}

export class LakeMaintenance {
  constructor(
    private readonly store: LakeStore,
    private readonly hooks: MaintenanceHooks = {},
  ) {}

  private async step(step: MaintenanceStep, dir: string): Promise<void> {
    crashPoint(step);
    await this.hooks.onStep?.(step, { dir });
  }

  /** Every partition directory under `prefix` with its live files. */
  private async dirs(manifest: LakeManifest, prefix: string): Promise<DirState[]> {
    const byDir = new Map<string, Map<string, LakeFileInfo>>();
    for (const f of await this.store.listInfo(prefix)) {
      if (!f.relPath.endsWith('.parquet')) continue;
      const dir = partitionDirOf(f.relPath);
      let m = byDir.get(dir);
      if (!m) byDir.set(dir, (m = new Map()));
      m.set(f.relPath.slice(dir.length + 1), f);
    }
    const entries = new Map(manifest.partitions.map((e) => [e.dir, e]));
    return [...byDir].sort(([a], [b]) => a.localeCompare(b)).map(([dir, listed]) => {
      const entry = entries.get(dir);
      const live = liveNames(entry, [...listed.keys()]).map((name) => {
        const info = listed.get(name);
        if (!info) {
          throw new Error(
            `lake manifest names ${dir}/${name} as live but the file is missing in ${this.store.location}; ` +
              'something other than Sensorpipe deleted it. Restore it, or remove the name from _state/manifest.json to accept the loss',
          );
        }
        return info;
      });
      return { dir, listed, entry, live };
    });
  }

  /** Merges the small files of closed partitions under `prefix` (see CompactOptions). */
  async compact(prefix: string, opts: CompactOptions): Promise<PartitionReport[]> {
    const manifest = await readManifest(this.store);
    const reports: PartitionReport[] = [];
    const merger = await ParquetMerger.create();
    try {
      for (const d of await this.dirs(manifest, prefix)) {
        const day = partitionDay(d.dir);
        if (day === null || day + DAY > opts.before) continue;
        const small = d.live.filter((f) => f.bytes < opts.smallFileBytes);
        if (small.length < opts.minFiles) continue;
        // Every live part-* file is consumed, whatever its size: `through` replaces them by offset.
        const consume = d.live.filter((f) => f.bytes < opts.smallFileBytes || partOffset(nameOf(f)) !== null);
        const keep = d.live.filter((f) => !consume.includes(f)).map(nameOf);
        reports.push(await this.rewrite(manifest, merger, d, consume, { dir: d.dir, keep, entry: d.entry }, opts));
      }
    } finally {
      merger.close();
    }
    return reports;
  }

  /** Moves closed partitions under `prefix` that ended before `opts.before` to `archive/<prefix>/…`. */
  async archive(prefix: string, archivePrefix: string, opts: ArchiveOptions): Promise<{ partitions: PartitionReport[]; estimate?: string }> {
    const manifest = await readManifest(this.store);
    const archived = new Map((await this.dirs(manifest, archivePrefix)).map((d) => [d.dir, d]));
    const reports: PartitionReport[] = [];
    let estimate: string | undefined;
    const merger = await ParquetMerger.create();
    try {
      let ratio: number | null = null;
      for (const d of await this.dirs(manifest, prefix)) {
        const day = partitionDay(d.dir);
        if (day === null || day + DAY > opts.before || d.live.length === 0) continue;
        const toDir = archiveDirOf(d.dir);
        const target = archived.get(toDir);
        const dst = { dir: toDir, keep: target ? target.live.map(nameOf) : [], entry: manifest.partitions.find((e) => e.dir === toDir) };
        if (opts.dryRun && ratio === null) {
          ratio = await this.sampleRatio(merger, d.live, opts.zstdLevel);
          estimate = `bytesAfter re-encodes ${d.dir} at zstd ${opts.zstdLevel} (outside the lake) and scales the others by its ratio ${ratio.toFixed(3)}`;
        }
        const r = await this.rewrite(manifest, merger, d, d.live, dst, opts);
        if (opts.dryRun && ratio !== null) r.bytesAfter = Math.round(r.bytes * ratio);
        reports.push(r);
      }
    } finally {
      merger.close();
    }
    return { partitions: reports, ...(estimate ? { estimate } : {}) };
  }

  /** Encodes one partition into a local temporary directory to measure the size ratio (dry runs). */
  private async sampleRatio(merger: ParquetMerger, files: LakeFileInfo[], zstdLevel: number): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-estimate-'));
    const local = await this.store.openLocal(files.map((f) => f.relPath));
    try {
      const out = join(dir, 'sample.parquet');
      await merger.merge(local.paths, out, { zstdLevel });
      const before = files.reduce((n, f) => n + f.bytes, 0);
      return before > 0 ? statSync(out).size / before : 1;
    } finally {
      await local.release();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Steps 1 and 2 for one partition: merge `consume` (live files of `src`) into a new file in
   * `dst.dir`, then swap the manifest so that file plus `dst.keep` are live there and nothing of
   * `consume` is live any more. `manifest` is updated in place (the caller's next rewrite builds on it).
   */
  private async rewrite(
    manifest: LakeManifest,
    merger: ParquetMerger,
    src: DirState,
    consume: LakeFileInfo[],
    dst: { dir: string; keep: string[]; entry: PartitionEntry | undefined },
    { zstdLevel, rowGroupSize, dryRun, now }: { zstdLevel: number; rowGroupSize?: number; dryRun: boolean; now: number },
  ): Promise<PartitionReport> {
    const bytes = consume.reduce((n, f) => n + f.bytes, 0);
    const local = await this.store.openLocal(consume.map((f) => f.relPath));
    try {
      const rows = await merger.countRows(local.paths);
      const report: PartitionReport = { dir: src.dir, files: consume.length, bytes, rows, to: dst.dir };
      if (dryRun) return report;
      const generation = manifest.generation + 1;
      const name = rewriteFileName(generation, 0);
      const relPath = `${dst.dir}/${name}`;
      const staged = await this.store.stage(relPath);
      try {
        const written = await merger.merge(local.paths, staged, { zstdLevel, rowGroupSize });
        if (written !== rows) throw new Error(`merging ${src.dir} wrote ${written} rows from ${rows}; nothing was replaced (the lake is unchanged)`);
        await this.step('lake.rewrite.before-publish', src.dir);
        await this.store.publish([{ staged, relPath }]);
      } catch (err) {
        await this.store.discard([staged]);
        throw err;
      }
      report.bytesAfter = (await this.store.listInfo(dst.dir)).find((f) => f.relPath === relPath)?.bytes;
      await this.step('lake.rewrite.after-publish', src.dir);

      const consumedThrough = Math.max(-1, ...consume.map((f) => partOffset(nameOf(f)) ?? -1));
      const upsert = (dir: string, old: PartitionEntry | undefined, files: string[], through: number) => {
        const e: PartitionEntry = { dir, files: [...files].sort(), through: Math.max(old?.through ?? -1, through), generation };
        const i = manifest.partitions.findIndex((p) => p.dir === dir);
        if (i >= 0) manifest.partitions[i] = e;
        else manifest.partitions.push(e);
      };
      if (dst.dir === src.dir) upsert(dst.dir, dst.entry, [...dst.keep, name], consumedThrough);
      else {
        upsert(dst.dir, dst.entry, [...dst.keep, name], -1);
        upsert(src.dir, src.entry, [], consumedThrough);
      }
      manifest.generation = generation;
      manifest.updatedAt = new Date(now).toISOString();
      manifest.garbage = manifest.garbage.filter((g) => g.path !== relPath);
      await writeManifest(this.store, manifest);
      await this.step('lake.rewrite.after-manifest', src.dir);
      return report;
    } finally {
      await local.release();
    }
  }

  /**
   * Step 3 under `prefixes`: files that are not live are recorded as garbage with the time they were
   * first seen so; those seen `graceMs` ago or earlier are deleted. Returns the deleted paths.
   */
  async sweep(prefixes: string[], now: number, graceMs: number, dryRun = false): Promise<{ deleted: string[]; pending: number }> {
    const manifest = await readManifest(this.store);
    const known = new Map(manifest.garbage.map((g) => [g.path, g.since]));
    const notLive = new Set<string>();
    const under = (p: string) => prefixes.some((x) => p.startsWith(x + '/'));
    for (const prefix of prefixes) {
      for (const d of await this.dirs(manifest, prefix)) {
        const live = new Set(d.live.map((f) => f.relPath));
        for (const f of d.listed.values()) if (!live.has(f.relPath)) notLive.add(f.relPath);
      }
    }
    const due = [...notLive].filter((p) => known.has(p) && known.get(p)! + graceMs <= now).sort();
    const garbage = [
      ...manifest.garbage.filter((g) => !under(g.path) || (notLive.has(g.path) && !due.includes(g.path))),
      ...[...notLive].filter((p) => !known.has(p)).map((path) => ({ path, since: now })),
    ];
    if (dryRun) return { deleted: due, pending: garbage.length };
    if (due.length > 0) {
      await this.step('lake.sweep.before-delete', due[0]);
      for (const p of due) await this.store.remove(p);
      await this.step('lake.sweep.after-delete', due[0]);
    }
    const key = (gs: { path: string }[]) => gs.map((g) => g.path).sort().join('\n');
    const changed = key(garbage) !== key(manifest.garbage);
    if (changed || due.length > 0) {
      manifest.garbage = garbage;
      manifest.updatedAt = new Date(now).toISOString();
      await writeManifest(this.store, manifest);
    }
    return { deleted: due, pending: garbage.length };
  }
}

function nameOf(f: LakeFileInfo): string {
  return f.relPath.slice(f.relPath.lastIndexOf('/') + 1);
}
