/**
 * The lake manifest (`_state/manifest.json`): which files of a partition directory are live, so
 * that compaction and archiving can replace many files at once and a reader still sees either the
 * old set or the new set, never both or neither (docs/lake.md, "Reader rule").
 *
 * The writer never touches the manifest; it keeps publishing `part-<offset>.parquet` files. Only the
 * lake jobs (compaction, archive), which share one lock, rewrite it, and always whole and atomically
 * (write temporary + rename on a file system; one PUT, conditional on the ETag, on an object store).
 *
 * Reader rule for a partition directory D (a directory holding Parquet files):
 *   - no entry for D: every `part-*.parquet` in D is live;
 *   - an entry { files, through }: the files named in `files`, plus every `part-<N>.parquet` in D
 *     with N > through (written by the writer after the last rewrite). Anything else in D is
 *     garbage: replaced files kept for readers that started before the swap, deleted after
 *     `lake.replacedFileGraceS`.
 *
 * `through` works because within one directory the writer publishes files in increasing offset
 * order; a replay after a crash rewrites a file with the same name and the same rows, which the
 * rule then hides when that range was already merged.
 */
import { partitionDirOf } from './partitions.js';
import { ManifestConflictError, type LakeStore } from './store.js';

export const MANIFEST_PATH = '_state/manifest.json';
export const MANIFEST_VERSION = 1;

export interface PartitionEntry {
  /** Directory relative to the lake root, e.g. `raw/date=2024-03-01` or `archive/raw/date=2024-03-01`. */
  dir: string;
  /** Live files of the directory besides the writer's newer `part-*` files (names only). */
  files: string[];
  /** `part-<N>` files with N <= through are replaced (their rows are in `files`); -1: none. */
  through: number;
  /** Manifest generation that last changed this entry. */
  generation: number;
}

export interface GarbageEntry {
  /** Relative path of a file that is no longer live. */
  path: string;
  /** When it was found not live (epoch ms): deleted once the grace period has passed since. */
  since: number;
}

export interface LakeManifest {
  version: number;
  /** Increases with every rewrite; new files carry it in their names (`compact-g<generation>-…`). */
  generation: number;
  updatedAt: string | null;
  partitions: PartitionEntry[];
  garbage: GarbageEntry[];
}

export function emptyManifest(): LakeManifest {
  return { version: MANIFEST_VERSION, generation: 0, updatedAt: null, partitions: [], garbage: [] };
}

const PART_RE = /^part-(\d+)\.parquet$/;

/** The spool offset in a writer file name, or null for any other name. */
export function partOffset(name: string): number | null {
  const m = PART_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/** Name of the n-th file a rewrite of `generation` writes into a directory. */
export function rewriteFileName(generation: number, n: number): string {
  return `compact-g${String(generation).padStart(8, '0')}-${String(n).padStart(4, '0')}.parquet`;
}

/** The live names of directory `dir`, given the Parquet names listed in it and its manifest entry (reader rule above). */
export function liveNames(entry: PartitionEntry | undefined, listed: string[]): string[] {
  const live = new Set<string>(entry ? entry.files : []);
  const through = entry ? entry.through : -1;
  for (const name of listed) {
    const off = partOffset(name);
    if (off !== null && off > through) live.add(name);
  }
  return [...live].sort();
}

export function parseManifest(text: string, location: string): LakeManifest {
  let m: LakeManifest;
  try {
    m = JSON.parse(text) as LakeManifest;
  } catch (err) {
    throw new Error(
      `lake manifest ${location}/${MANIFEST_PATH} is not valid JSON (${(err as Error).message}). It is only written whole, by rename; ` +
        'restore it from a backup, or delete it to make every part-* file live again (files of earlier compactions then appear twice until removed by hand)',
    );
  }
  if (m.version !== MANIFEST_VERSION || !Array.isArray(m.partitions) || !Array.isArray(m.garbage) || !Number.isSafeInteger(m.generation)) {
    throw new Error(`lake manifest ${location}/${MANIFEST_PATH} has version ${String(m.version)} or an unknown shape; this Sensorpipe reads version ${MANIFEST_VERSION}`);
  }
  return m;
}

export async function readManifest(store: LakeStore): Promise<LakeManifest> {
  const text = await store.readText(MANIFEST_PATH);
  return text === null ? emptyManifest() : parseManifest(text, store.location);
}

/** Writes the whole manifest atomically (the swap every rewrite hinges on). */
export async function writeManifest(store: LakeStore, m: LakeManifest): Promise<void> {
  const sorted = { ...m, partitions: [...m.partitions].sort((a, b) => a.dir.localeCompare(b.dir)), garbage: [...m.garbage].sort((a, b) => a.path.localeCompare(b.path)) };
  await store.writeText(MANIFEST_PATH, JSON.stringify(sorted, null, 1) + '\n');
}

/** Creates an empty manifest when there is none, so SQL readers can always open it. */
export async function ensureManifest(store: LakeStore): Promise<void> {
  if ((await store.readText(MANIFEST_PATH)) !== null) return;
  try {
    await writeManifest(store, emptyManifest());
  } catch (err) {
    if (!(err instanceof ManifestConflictError)) throw err; // another process created it first: fine
  }
}

/**
 * The live Parquet files under `prefix` (relative paths, sorted), following the reader rule: the
 * manifest is read first, then the directory listed, so a rewrite that swaps the manifest in between
 * is seen as the older state (whose files stay for the grace period).
 */
export async function liveFiles(store: LakeStore, prefix: string): Promise<string[]> {
  const manifest = await readManifest(store);
  const listed = (await store.list(prefix)).filter((p) => p.endsWith('.parquet'));
  return liveOf(manifest, listed, prefix);
}

/** The live subset of listed Parquet paths under `prefix`, by the manifest's entries (pure). */
export function liveOf(manifest: LakeManifest, listed: string[], prefix: string): string[] {
  const byDir = new Map<string, string[]>();
  for (const p of listed) {
    const dir = partitionDirOf(p);
    const names = byDir.get(dir);
    if (names) names.push(p.slice(dir.length + 1));
    else byDir.set(dir, [p.slice(dir.length + 1)]);
  }
  const entries = new Map(manifest.partitions.map((e) => [e.dir, e]));
  // Directories whose only live files are named by the manifest (none listed, e.g. a listing taken before the swap).
  for (const e of manifest.partitions) if (isUnder(e.dir, prefix) && !byDir.has(e.dir) && e.files.length > 0) byDir.set(e.dir, []);
  const out: string[] = [];
  for (const [dir, names] of byDir) {
    if (!isUnder(dir, prefix)) continue;
    for (const n of liveNames(entries.get(dir), names)) out.push(`${dir}/${n}`);
  }
  return out.sort();
}

function isUnder(dir: string, prefix: string): boolean {
  return prefix === '' || dir === prefix || dir.startsWith(prefix + '/');
}
