/**
 * The lake on Azure Blob Storage (or ADLS Gen2, which serves the same Blob API): the same layout as
 * on a file system (layout.ts), below an optional prefix of one container.
 *
 * Atomic from a reader's point of view without renames: the encoder writes each Parquet file into a
 * local scratch directory, and `publish` uploads it under its final name. A block blob appears only
 * when its upload commits (one Put Blob, or Put Block × n then one Put Block List), so a listing or a
 * download sees the whole previous version or the whole new one, never a part. Nothing temporary is
 * ever visible in the container: uncommitted blocks of an interrupted upload are invisible and Azure
 * discards them after a week.
 *
 * The manifest (`_state/manifest.json`) is replaced with a conditional PUT: If-Match on the ETag this
 * store last read or wrote (If-None-Match: * when it read none), so when two processes rewrite it at
 * once the second fails with ManifestConflictError instead of silently undoing the first.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BlobServiceClient, RestError, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { crashPoint } from '../../core/faults.js';
import { MANIFEST_PATH } from './manifest.js';
import { ManifestConflictError, type LakeFileInfo, type LakeStore, type StagedFile } from './store.js';

/** Where the lake lives (config `lake.azure`); exactly one way to authenticate. */
export interface AzureLakeLocation {
  connectionString?: string;
  /** `https://<account>.blob.core.windows.net` (or `https://<account>.dfs.core.windows.net` for ADLS: use the blob endpoint). */
  accountUrl?: string;
  /** Needed with accountKey; taken from accountUrl's host (or Azurite's path) when absent. */
  accountName?: string;
  accountKey?: string;
  sasToken?: string;
  container: string;
  /** Folder inside the container (`sensorpipe/lake`); '' for the container root. */
  prefix: string;
}

export interface AzureBlobLakeStoreOptions extends AzureLakeLocation {
  /** Local directory for encoding files before upload (`<dataDir>/lake-scratch`). */
  scratchDir: string;
  /** Create the container when missing (default true). */
  createContainer?: boolean;
}

const UPLOAD_CONCURRENCY = 8;
/** Paths written only with a conditional PUT (read-modify-write by the lake jobs). */
const CONDITIONAL_PATHS = new Set([MANIFEST_PATH]);

function statusOf(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

/** The account name for a shared key: `<account>.blob.core.windows.net`, or Azurite's `http://127.0.0.1:10000/<account>`. */
export function accountNameOf(accountUrl: string): string {
  const url = new URL(accountUrl);
  const host = url.hostname;
  if (/^[\d.]+$/.test(host) || host === 'localhost' || host.startsWith('[')) {
    const first = url.pathname.split('/').find((s) => s !== '');
    if (first) return first;
  } else return host.split('.')[0];
  throw new Error(`lake.azure.accountUrl ${accountUrl} names no storage account; set lake.azure.accountName`);
}

export function containerClientFor(loc: AzureLakeLocation): ContainerClient {
  let service: BlobServiceClient;
  if (loc.connectionString) service = BlobServiceClient.fromConnectionString(loc.connectionString);
  else if (loc.accountUrl && loc.accountKey) {
    service = new BlobServiceClient(loc.accountUrl, new StorageSharedKeyCredential(loc.accountName ?? accountNameOf(loc.accountUrl), loc.accountKey));
  } else if (loc.accountUrl && loc.sasToken) {
    service = new BlobServiceClient(`${loc.accountUrl.replace(/\/$/, '')}?${loc.sasToken.replace(/^\?/, '')}`);
  } else {
    throw new Error('lake.azure needs connectionString, or accountUrl with accountKey or sasToken (docs/lake.md, "Azure Blob / ADLS")');
  }
  return service.getContainerClient(loc.container);
}

export class AzureBlobLakeStore implements LakeStore {
  /** ETag of each conditional path as last read or written ('' = read as absent). */
  private readonly etags = new Map<string, string>();
  private readonly root: string;
  /** This process's own folder in the scratch directory (`<pid>-<random>`), so two processes never share files. */
  private readonly scratch: string;
  private ensured = false;

  constructor(
    private readonly container: ContainerClient,
    private readonly opts: Pick<AzureBlobLakeStoreOptions, 'prefix' | 'scratchDir' | 'createContainer'>,
  ) {
    const p = opts.prefix.replace(/^\/+|\/+$/g, '');
    this.root = p === '' ? '' : `${p}/`;
    this.scratch = join(opts.scratchDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  static create(opts: AzureBlobLakeStoreOptions): AzureBlobLakeStore {
    return new AzureBlobLakeStore(containerClientFor(opts), opts);
  }

  /** `azure://<account>/<container>/<prefix>` (never a secret). */
  get location(): string {
    return `azure://${this.container.accountName}/${this.container.containerName}${this.root === '' ? '' : '/' + this.root.slice(0, -1)}`;
  }

  private blobName(relPath: string): string {
    return this.root + relPath;
  }

  private async scratchDir(): Promise<string> {
    await mkdir(this.scratch, { recursive: true });
    return this.scratch;
  }

  async stage(relPath: string): Promise<string> {
    const dir = await this.scratchDir();
    return join(dir, `${randomBytes(6).toString('hex')}-${basename(relPath)}`);
  }

  async publish(files: StagedFile[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const f = files[next++];
        crashPoint('lake.before-rename'); // same points as the file system store: some files published, others not
        try {
          await this.container.getBlockBlobClient(this.blobName(f.relPath)).uploadFile(f.staged, {
            blobHTTPHeaders: { blobContentType: f.relPath.endsWith('.parquet') ? 'application/vnd.apache.parquet' : 'application/octet-stream' },
          });
        } catch (err) {
          throw new Error(`could not upload ${f.relPath} to ${this.location}: ${(err as Error).message}`, { cause: err });
        }
        crashPoint('lake.after-rename');
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, files.length) }, worker));
    await this.discard(files.map((f) => f.staged));
  }

  async discard(staged: string[]): Promise<void> {
    await Promise.all(staged.map((p) => rm(p, { force: true }).catch(() => undefined)));
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listInfo(prefix)).map((f) => f.relPath);
  }

  async listInfo(prefix: string): Promise<LakeFileInfo[]> {
    const out: LakeFileInfo[] = [];
    const under = this.root + (prefix === '' ? '' : `${prefix.replace(/\/+$/, '')}/`);
    try {
      for await (const b of this.container.listBlobsFlat({ prefix: under })) {
        out.push({ relPath: b.name.slice(this.root.length), bytes: b.properties.contentLength ?? 0, modifiedMs: b.properties.lastModified.getTime() });
      }
    } catch (err) {
      if (statusOf(err) === 404) return []; // no container yet: an empty lake
      throw err;
    }
    return out.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  }

  async openLocal(relPaths: string[]): Promise<{ paths: string[]; release(): Promise<void> }> {
    const dir = await mkdtemp(join(await this.scratchDir(), 'read-'));
    const release = () => rm(dir, { recursive: true, force: true });
    try {
      const paths = relPaths.map((p, i) => join(dir, `${String(i).padStart(6, '0')}-${basename(p)}`));
      let next = 0;
      const worker = async () => {
        while (next < relPaths.length) {
          const i = next++;
          try {
            await this.container.getBlobClient(this.blobName(relPaths[i])).downloadToFile(paths[i]);
          } catch (err) {
            const what = statusOf(err) === 404 ? 'it is missing' : (err as Error).message;
            throw new Error(`could not download ${relPaths[i]} from ${this.location}: ${what}`, { cause: err });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, relPaths.length) }, worker));
      return { paths, release };
    } catch (err) {
      await release();
      throw err;
    }
  }

  async remove(relPath: string): Promise<void> {
    await this.container.getBlobClient(this.blobName(relPath)).deleteIfExists();
  }

  async readText(relPath: string): Promise<string | null> {
    try {
      const res = await this.container.getBlobClient(this.blobName(relPath)).download();
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody!) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
      if (CONDITIONAL_PATHS.has(relPath)) this.etags.set(relPath, res.etag ?? '');
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      if (CONDITIONAL_PATHS.has(relPath)) this.etags.set(relPath, '');
      return null;
    }
  }

  /**
   * One PUT: the blob is replaced whole. For the manifest the PUT is conditional on what this store
   * read (a manifest it never read may only be created, not replaced); a lost race throws
   * ManifestConflictError.
   */
  async writeText(relPath: string, text: string): Promise<void> {
    await this.ensureContainer();
    const body = Buffer.from(text, 'utf8');
    const conditional = CONDITIONAL_PATHS.has(relPath);
    const etag = this.etags.get(relPath);
    const conditions = !conditional ? undefined : etag ? { ifMatch: etag } : { ifNoneMatch: '*' };
    try {
      const res = await this.container.getBlockBlobClient(this.blobName(relPath)).upload(body, body.length, {
        conditions,
        blobHTTPHeaders: { blobContentType: relPath.endsWith('.json') ? 'application/json' : 'text/plain' },
      });
      if (conditional) this.etags.set(relPath, res.etag ?? '');
    } catch (err) {
      const status = statusOf(err);
      if (conditional && (status === 412 || status === 409)) {
        this.etags.delete(relPath);
        throw new ManifestConflictError(this.location);
      }
      throw err;
    }
  }

  /**
   * Nothing temporary is ever visible in the container, so this only creates the container when
   * allowed and clears scratch folders of processes that are gone (crashed mid-batch). Returns the
   * scratch files it removed, relative to the scratch directory.
   */
  async removeLeftovers(): Promise<string[]> {
    await this.ensureContainer();
    const removed: string[] = [];
    if (!existsSync(this.opts.scratchDir)) return removed;
    for (const entry of await readdir(this.opts.scratchDir, { withFileTypes: true })) {
      const pid = Number(entry.name.split('-')[0]);
      if (!entry.isDirectory() || !Number.isSafeInteger(pid) || pid <= 0 || pidAlive(pid)) continue;
      const dir = join(this.opts.scratchDir, entry.name);
      for (const f of await readdir(dir, { recursive: true })) removed.push(`${entry.name}/${f}`);
      await rm(dir, { recursive: true, force: true });
    }
    return removed.sort();
  }

  private async ensureContainer(): Promise<void> {
    if (this.ensured) return;
    if (this.opts.createContainer !== false) {
      try {
        await this.container.createIfNotExists();
      } catch (err) {
        // A SAS limited to one container may not create it; that is fine when it exists.
        if (statusOf(err) !== 403 || !(await this.container.exists())) {
          throw new Error(`could not open the lake container ${this.location}: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    this.ensured = true;
  }

  /** Removes this process's scratch folder (the lake closes). */
  async close(): Promise<void> {
    await rm(this.scratch, { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
