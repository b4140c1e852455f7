/**
 * Opening the DuckDB file: hardening of the instance and operator-friendly errors.
 *
 * Hardening (applies to every connection of the instance, including the writer):
 * - extensions are never installed or auto-loaded (parquet, json and icu are built in);
 * - `enable_external_access=false`: no SQL can read or write files other than the database
 *   itself, nor reach the network (read_csv, glob, read_text, read_blob, COPY, ATTACH,
 *   INSTALL…). The database file, its WAL, checkpoints and spilling to `<file>.tmp` keep
 *   working (checked by the tests); `allowedDirectories` re-opens chosen directories (e.g. the
 *   Parquet lake, for views over it);
 * - `lock_configuration=true`: no later `SET`/`RESET` can undo the above, from any connection.
 *   Consequence for other code: settings must be passed at open, never changed afterwards.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quotedString } from '@duckdb/node-api';

/** The file is locked by another process: most likely a running Sensorpipe server. */
export class WarehouseLockedError extends Error {
  readonly code = 'warehouse_locked';
  constructor(message: string, public readonly path: string) {
    super(message);
  }
}

export class WarehouseMissingError extends Error {
  readonly code = 'warehouse_missing';
  constructor(message: string, public readonly path: string) {
    super(message);
  }
}

export interface DuckDbLimits {
  memoryLimit: string | null;
  threads: number | null;
}

export interface OpenInstanceOptions {
  path: string;
  readOnly: boolean;
  allowedDirectories?: string[];
  limits?: DuckDbLimits;
}

export async function openInstance(opts: OpenInstanceOptions): Promise<DuckDBInstance> {
  const options: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
  };
  if (opts.limits?.memoryLimit) options.memory_limit = opts.limits.memoryLimit;
  if (opts.limits?.threads) options.threads = String(opts.limits.threads);
  if (opts.readOnly) options.access_mode = 'READ_ONLY';
  else if (opts.path !== ':memory:' && opts.path !== '') await mkdir(dirname(opts.path), { recursive: true });
  try {
    return await DuckDBInstance.create(opts.path, options);
  } catch (err) {
    throw friendlyOpenError(err, opts);
  }
}

/** Locks the instance down; run once on the first connection, before anything else. */
export async function hardenInstance(conn: DuckDBConnection, allowedDirectories: string[] = []): Promise<void> {
  if (allowedDirectories.length > 0) {
    await conn.run(`SET allowed_directories = [${allowedDirectories.map((d) => quotedString(d)).join(', ')}]`);
  }
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
}

function friendlyOpenError(err: unknown, opts: OpenInstanceOptions): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Could not set lock|Conflicting lock/i.test(msg)) {
    const holder = /Conflicting lock is held in (.*?)(?:\. See also|$)/.exec(msg)?.[1];
    const by = holder ? ` (held by ${holder})` : '';
    const advice = opts.readOnly
      ? 'A Sensorpipe server is probably running on this data directory: query it through its API with ' +
        '`sensorpipe query --url http://<host>:<port> "<sql>"` instead of opening the file.'
      : 'Another Sensorpipe server is probably running on this data directory; stop it first, ' +
        'or give this one a different dataDir. To query a running server use `sensorpipe query --url`.';
    return new WarehouseLockedError(`the warehouse file ${opts.path} is locked by another process${by}. ${advice}`, opts.path);
  }
  if (opts.readOnly && /database does not exist/i.test(msg)) {
    return new WarehouseMissingError(
      `no warehouse at ${opts.path}: start Sensorpipe once to create it, or check dataDir`,
      opts.path,
    );
  }
  return err instanceof Error ? err : new Error(msg);
}
