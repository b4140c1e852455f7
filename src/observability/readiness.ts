import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Warehouse } from '../core/sinks.js';
import type { SpoolStats } from '../core/types.js';

/** At this share of spool.maxBytes the instance reports not ready: most appends are refused from here on. */
export const SPOOL_NOT_READY_RATIO = 0.95;
/** Batch writes failing in a row before the instance reports not ready (one failure may be a blip). */
export const WRITER_FAILURES_NOT_READY = 3;

export interface ReadinessCheck {
  name: 'warehouse' | 'lake' | 'spool' | 'writer';
  ok: boolean;
  /** What was found, for the operator. */
  detail: string;
  /** What to do, when not ok. */
  action?: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

export interface ReadinessDeps {
  warehouse: Pick<Warehouse, 'query'>;
  lakeDir: string;
  spool(): Promise<SpoolStats>;
  writer(): { consecutiveFailures: number; lastError: string | null };
}

/**
 * Whether this instance can take traffic and get it into the sinks: a cheap warehouse query, the
 * lake directory writable, the spool below SPOOL_NOT_READY_RATIO of its limit, the writer not
 * failing repeatedly. Never throws: a failed check is a value with what to do.
 */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const checks = await Promise.all([warehouseCheck(deps), lakeCheck(deps), spoolCheck(deps), writerCheck(deps)]);
  return { ready: checks.every((c) => c.ok), checks };
}

async function warehouseCheck(deps: ReadinessDeps): Promise<ReadinessCheck> {
  try {
    await deps.warehouse.query('SELECT 1 AS ok', { maxRows: 1, timeoutMs: 2000 });
    return { name: 'warehouse', ok: true, detail: 'answers queries' };
  } catch (err) {
    return {
      name: 'warehouse',
      ok: false,
      detail: `a test query failed: ${(err as Error).message}`,
      action: 'check the warehouse (file permissions, disk space, or the database server) and the server log',
    };
  }
}

async function lakeCheck(deps: ReadinessDeps): Promise<ReadinessCheck> {
  const fail = (detail: string): ReadinessCheck => ({
    name: 'lake',
    ok: false,
    detail,
    action: 'make the lake directory a writable directory of the Sensorpipe user (is its volume mounted?)',
  });
  // The lake creates its directory on the first write: until then its nearest existing parent must be writable.
  let dir = deps.lakeDir;
  for (;;) {
    try {
      const s = await stat(dir);
      if (!s.isDirectory()) return fail(`${dir} is not a directory`);
      await access(dir, constants.W_OK);
      return { name: 'lake', ok: true, detail: dir === deps.lakeDir ? `${dir} is writable` : `${deps.lakeDir} will be created in ${dir}, which is writable` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) return fail(`${dir} is not writable: ${(err as Error).message}`);
      dir = dirname(dir);
    }
  }
}

async function spoolCheck(deps: ReadinessDeps): Promise<ReadinessCheck> {
  let s: SpoolStats;
  try {
    s = await deps.spool();
  } catch (err) {
    return { name: 'spool', ok: false, detail: `the spool is not usable: ${(err as Error).message}`, action: 'see the server log; restart Sensorpipe once the disk is fixed' };
  }
  const detail = `${s.depthBytes} of ${s.limitBytes} bytes (${s.depthRecords} records) waiting to be written`;
  if (s.depthBytes < s.limitBytes * SPOOL_NOT_READY_RATIO) return { name: 'spool', ok: true, detail };
  return {
    name: 'spool',
    ok: false,
    detail: `${detail}: at ${Math.round(SPOOL_NOT_READY_RATIO * 100)} % of spool.maxBytes or more, new messages are refused`,
    action: 'the sinks are not keeping up or are down: check the writer check and the server log; raise spool.maxBytes if the disk allows',
  };
}

async function writerCheck(deps: ReadinessDeps): Promise<ReadinessCheck> {
  const w = deps.writer();
  if (w.consecutiveFailures < WRITER_FAILURES_NOT_READY) {
    return { name: 'writer', ok: true, detail: w.consecutiveFailures === 0 ? 'writing' : `${w.consecutiveFailures} failed write(s) in a row, retrying` };
  }
  return {
    name: 'writer',
    ok: false,
    detail: `${w.consecutiveFailures} batch writes failed in a row; last error: ${w.lastError ?? 'unknown'}`,
    action: 'nothing is lost (it stays in the spool); fix the sink named in the error, the writer retries by itself',
  };
}
