/**
 * Where lake files live. The layout and the Parquet encoding are shared; a store only knows how to
 * make a finished local file visible under a relative path atomically. The file system store is
 * below; the Azure Blob store (azure-store.ts) stages to a local scratch dir and publishes with a block-blob commit.
 *
 * Relative paths use `/` and come from layout.ts. Every method throws only on infrastructure faults.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { isTempName, mkdirp, publishFiles, tempPathFor, writeFileAtomic } from './atomic-file.js';

/** Another process replaced the manifest after this one read it: this rewrite changed nothing live. */
export class ManifestConflictError extends Error {
  constructor(location: string) {
    super(
      `lake manifest ${location}/_state/manifest.json was replaced by another process after this one read it (ETag mismatch), ` +
        'so this rewrite was not applied (its merged file is unreferenced and swept later). Another Sensorpipe is running ' +
        'lake_compact or lake_archive on the same lake: let one process run the lake jobs, then run the job again',
    );
    this.name = 'ManifestConflictError';
  }
}

export interface StagedFile {
  /** Local path the encoder wrote. */
  staged: string;
  /** Where it must appear in the lake. */
  relPath: string;
}

/** A published file with its size and modification time (for maintenance plans and the catalog). */
export interface LakeFileInfo {
  relPath: string;
  bytes: number;
  modifiedMs: number;
}

export interface LakeStore {
  /** For logs and error messages. */
  readonly location: string;
  /** A local path where the file that will become `relPath` may be written (nothing exists there yet). */
  stage(relPath: string): Promise<string>;
  /** Makes staged files visible under their paths, replacing existing ones; durable when it resolves. */
  publish(files: StagedFile[]): Promise<void>;
  /** Deletes staged files after a failed write; never throws. */
  discard(staged: string[]): Promise<void>;
  /** Published files under `prefix` (relative paths, sorted); never temporaries. */
  list(prefix: string): Promise<string[]>;
  /** Like `list`, with sizes and modification times. */
  listInfo(prefix: string): Promise<LakeFileInfo[]>;
  /**
   * Local paths a DuckDB reader can open for these published files (compaction, archiving). The
   * file system returns the files themselves; an object store downloads them to a local temporary
   * directory and deletes it on `release`. Throws when a file is missing.
   */
  openLocal(relPaths: string[]): Promise<{ paths: string[]; release(): Promise<void> }>;
  remove(relPath: string): Promise<void>;
  /** Small state objects: null when absent. `writeText` is atomic. */
  readText(relPath: string): Promise<string | null>;
  writeText(relPath: string, text: string): Promise<void>;
  /** Removes what interrupted writes left behind; returns the relative paths it removed. */
  removeLeftovers(): Promise<string[]>;
  /** Releases local resources (an object store's scratch folder); the lake calls it on close. */
  close?(): Promise<void>;
}

/** The lake on a local (or mounted) file system; files are staged next to their final name and renamed. */
export class FsLakeStore implements LakeStore {
  /** Directories created by `stage` whose parents must be fsync'd when the files are published. */
  private readonly changedDirs = new Set<string>();

  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private abs(relPath: string): string {
    return join(this.root, ...relPath.split('/'));
  }

  async stage(relPath: string): Promise<string> {
    const final = this.abs(relPath);
    for (const d of await mkdirp(dirname(final))) this.changedDirs.add(d);
    return tempPathFor(final);
  }

  async publish(files: StagedFile[]): Promise<void> {
    const changed = [...this.changedDirs];
    await publishFiles(
      files.map((f) => ({ tmp: f.staged, final: this.abs(f.relPath) })),
      changed,
    );
    for (const d of changed) this.changedDirs.delete(d);
  }

  async discard(staged: string[]): Promise<void> {
    await Promise.all(staged.map((p) => rm(p, { force: true }).catch(() => undefined)));
  }

  async list(prefix: string): Promise<string[]> {
    const files: string[] = [];
    await this.walk(this.abs(prefix), (path, name) => {
      if (!isTempName(name)) files.push(this.rel(path));
    });
    return files.sort();
  }

  async listInfo(prefix: string): Promise<LakeFileInfo[]> {
    const paths = await this.list(prefix);
    return Promise.all(
      paths.map(async (relPath) => {
        const st = await stat(this.abs(relPath));
        return { relPath, bytes: st.size, modifiedMs: st.mtimeMs };
      }),
    );
  }

  async openLocal(relPaths: string[]): Promise<{ paths: string[]; release(): Promise<void> }> {
    const paths = relPaths.map((p) => this.abs(p));
    await Promise.all(paths.map((p) => stat(p))); // a missing file fails here, with its path in the error
    return { paths, release: async () => undefined };
  }

  async remove(relPath: string): Promise<void> {
    await rm(this.abs(relPath), { force: true });
  }

  async readText(relPath: string): Promise<string | null> {
    try {
      return await readFile(this.abs(relPath), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  writeText(relPath: string, text: string): Promise<void> {
    return writeFileAtomic(this.abs(relPath), text);
  }

  /** Walks the whole lake once: a crash can leave a `.tmp-*` file in any partition directory. */
  async removeLeftovers(): Promise<string[]> {
    const leftovers: string[] = [];
    await this.walk(this.root, (path, name) => {
      if (isTempName(name)) leftovers.push(path);
    });
    await Promise.all(leftovers.map((p) => rm(p, { force: true })));
    return leftovers.map((p) => this.rel(p)).sort();
  }

  private rel(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  private async walk(dir: string, onFile: (path: string, name: string) => void): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const subdirs: string[] = [];
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) subdirs.push(path);
      else if (e.isFile()) onFile(path, e.name);
    }
    await Promise.all(subdirs.map((d) => this.walk(d, onFile)));
  }
}
