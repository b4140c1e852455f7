import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { crashPoint } from '../../core/faults.js';

/**
 * Atomic file publishing on a local file system: a file is written under a temporary name in the
 * directory it will live in, fsync'd, renamed over its final name, and the directory is fsync'd so
 * the rename itself survives a power cut. Readers see the old file or the new one, never a part.
 *
 * Temporary names start with `.tmp-` and never contain `.parquet`, so `*.parquet` globs (DuckDB,
 * Spark, pyarrow) never pick them up, and Hive-style readers skip them as hidden files anyway.
 */
export const TEMP_PREFIX = '.tmp-';

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** A fresh temporary path next to `finalPath`: `.tmp-<final name without .parquet>.<random>`. */
export function tempPathFor(finalPath: string): string {
  const base = basename(finalPath).replaceAll('.parquet', '');
  return join(dirname(finalPath), `${TEMP_PREFIX}${base}.${randomBytes(6).toString('hex')}`);
}

export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so renames and unlinks in it are durable (a no-op where the OS refuses, e.g. Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    if (process.platform === 'win32') return;
    throw err;
  }
  try {
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw err;
  } finally {
    await fh.close();
  }
}

/** Runs `fn` over `items` with at most `limit` in flight (fsync holds a file descriptor each). */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const SYNC_CONCURRENCY = 16;

/**
 * Publishes already written temporary files: fsync each, rename each over its final name, then fsync
 * every directory involved once. Batching the directory syncs keeps a many-file batch cheap.
 */
export async function publishFiles(moves: { tmp: string; final: string }[], alsoSyncDirs: Iterable<string> = []): Promise<void> {
  await eachLimit(moves, SYNC_CONCURRENCY, (m) => fsyncFile(m.tmp));
  crashPoint('lake.before-rename');
  for (const m of moves) {
    await rename(m.tmp, m.final);
    crashPoint('lake.after-rename'); // some files of the batch published, others not
  }
  const dirs = new Set([...moves.map((m) => dirname(m.final)), ...alsoSyncDirs]);
  await eachLimit([...dirs], SYNC_CONCURRENCY, fsyncDir);
}

/**
 * mkdir -p. Returns the directories whose entries changed (the parent of every directory it
 * created): they must be fsync'd too, or a new partition directory could vanish after a crash even
 * though the files renamed into it were synced.
 */
export async function mkdirp(dirPath: string): Promise<string[]> {
  const dir = resolve(dirPath);
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return [];
  const stop = dirname(resolve(created));
  const changed: string[] = [];
  for (let d = dir; d !== stop && dirname(d) !== d; d = dirname(d)) changed.push(dirname(d));
  return changed;
}

/** Writes a small file atomically (write temp, fsync, rename, fsync directory). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const changedDirs = await mkdirp(dirname(path));
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await publishFiles([{ tmp, final: path }], changedDirs);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
