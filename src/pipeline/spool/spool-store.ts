import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { crashPoint } from '../../core/faults.js';
import type { AppendBatch, RawRows, ReclaimOptions, StoreState } from './spool-protocol.js';
import { packPayloads, unpackPayloads } from './spool-protocol.js';

/**
 * The spool's SQLite file, used synchronously from the worker thread.
 *
 * Committed rows are deleted in the same transaction that advances the checkpoint, so every
 * row in `records` is uncommitted and depth is simply what the table holds.
 *
 * Offsets are assigned here, not by AUTOINCREMENT: its sqlite_sequence row would add a second
 * page to every group commit's WAL write. They are never reused all the same, because the
 * highest offset ever handed out is always durable: either its row is still present, or a
 * commit deleted it and then the checkpoint, written in that same transaction, is at least it.
 * So after a restart the next offset is max(highest row, checkpoint) + 1.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS records (
    spool_offset INTEGER PRIMARY KEY,
    received_at  NUMERIC,
    bytes        INTEGER NOT NULL,
    meta         TEXT NOT NULL,
    payload      BLOB
  );
  CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER);
`;

export class SpoolCorruptError extends Error {
  readonly code = 'SPOOL_CORRUPT';
}

export class SpoolStore {
  private readonly db: Database.Database;
  private state: StoreState;
  private readonly insert: Database.Statement<[number, number, number, string, Buffer | null]>;
  private readonly selectAfter: Database.Statement<[number, number], [number, string, Buffer | null]>;
  private readonly setState: Database.Statement<[string, number | null]>;
  private readonly measureUpTo: Database.Statement<[number], { n: number; b: number }>;
  private readonly deleteUpTo: Database.Statement<[number]>;
  private readonly oldestReceivedAt: Database.Statement<[], unknown>;
  private shrinking = false;

  constructor(
    readonly file: string,
    private readonly reclaim: Required<ReclaimOptions>,
  ) {
    let db: Database.Database | undefined;
    try {
      // A short busy timeout: the only other holder of the lock is another process, which does not let go.
      this.db = db = new Database(file, { timeout: 1000 });
      configureAndCheck(db, file);
      this.db.exec(SCHEMA);
      this.insert = this.db.prepare('INSERT INTO records (spool_offset, received_at, bytes, meta, payload) VALUES (?, ?, ?, ?, ?)');
      this.selectAfter = this.db
        .prepare<[number, number], [number, string, Buffer | null]>(
          'SELECT spool_offset, meta, payload FROM records WHERE spool_offset > ? ORDER BY spool_offset LIMIT ?',
        )
        .raw(true);
      this.setState = this.db.prepare('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)');
      this.measureUpTo = this.db.prepare('SELECT count(*) AS n, total(bytes) AS b FROM records WHERE spool_offset <= ?');
      this.deleteUpTo = this.db.prepare('DELETE FROM records WHERE spool_offset <= ?');
      this.oldestReceivedAt = this.db.prepare('SELECT received_at FROM records ORDER BY spool_offset LIMIT 1').pluck();
      this.state = this.loadState();
    } catch (err) {
      db?.close();
      throw explainOpenError(file, err);
    }
  }

  current(): StoreState {
    return { ...this.state, inflight: this.state.inflight && { ...this.state.inflight } };
  }

  /** One transaction for the whole batch; returns [first, last] per caller, flattened. */
  append(batch: AppendBatch): number[] {
    const payloads = unpackPayloads(batch.payloads);
    const ranges: number[] = [];
    let added = 0;
    let offset = this.state.lastOffset;
    const run = this.db.transaction(() => {
      let i = 0;
      for (const count of batch.counts) {
        ranges.push(offset + 1, offset + count);
        for (let k = 0; k < count; k++, i++) {
          this.insert.run(++offset, batch.receivedAts[i], batch.bytes[i], batch.metas[i], payloads[i]);
          added += batch.bytes[i];
        }
      }
    });
    run();
    // Only after COMMIT returned: a failed transaction leaves the mirrored state untouched.
    const s = this.state;
    if (s.depthRecords === 0) s.oldestUnwrittenAt = toNumberOrNull(batch.receivedAts[0]);
    s.depthRecords += batch.metas.length;
    s.depthBytes += added;
    s.lastOffset = offset;
    s.appendTransactions += 1;
    return ranges;
  }

  read(after: number, max: number): RawRows {
    const rows = this.selectAfter.all(after, max);
    return {
      offsets: rows.map((r) => r[0]),
      metas: rows.map((r) => r[1]),
      payloads: packPayloads(rows.map((r) => r[2])),
    };
  }

  /** Returns whether rows were deleted (then file maintenance is worth a look). */
  commit(offset: number): boolean {
    const s = this.state;
    if (offset > s.lastOffset) {
      throw new RangeError(`commit(${offset}) is beyond the last appended offset ${s.lastOffset}`);
    }
    if (offset <= s.checkpoint) return false;
    const run = this.db.transaction(() => {
      const gone = this.measureUpTo.get(offset)!;
      this.deleteUpTo.run(offset);
      crashPoint('spool.commit'); // mid-transaction: the delete must roll back
      this.setState.run('checkpoint', offset);
      return { gone, oldest: this.oldestReceivedAt.get() };
    });
    const { gone, oldest } = run();
    s.depthRecords -= gone.n;
    s.depthBytes -= gone.b;
    s.checkpoint = offset;
    s.oldestUnwrittenAt = s.depthRecords === 0 ? null : toNumberOrNull(oldest);
    return gone.n > 0;
  }

  setInflight(range: { from: number; to: number } | null): void {
    this.db.transaction(() => {
      this.setState.run('inflight_from', range ? range.from : null);
      this.setState.run('inflight_to', range ? range.to : null);
    })();
    this.state.inflight = range && { from: range.from, to: range.to };
  }

  pragma(pragma: string): unknown {
    return this.db.pragma(pragma);
  }

  /**
   * One bounded step of space reclamation; returns true while more steps are due. Small steps,
   * because appends queue behind whatever the worker is doing. Once the free-page threshold is
   * crossed, the file is shrunk all the way (hysteresis), then the WAL that the moves produced
   * is truncated.
   */
  maintenanceStep(): boolean {
    const free = this.freePages();
    if (free > 0 && (this.shrinking || free >= this.reclaim.minFreePages)) {
      this.shrinking = true;
      this.db.exec(`PRAGMA incremental_vacuum(${this.reclaim.stepPages})`);
      // No progress means auto_vacuum is off for this file (made elsewhere): stop, do not spin.
      if (this.freePages() < free) return true;
    }
    const shrunk = this.shrinking;
    this.shrinking = false;
    const walBytes = this.walBytes();
    if (walBytes > 0 && (shrunk || walBytes > this.reclaim.walTruncateBytes)) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return false;
  }

  private freePages(): number {
    return this.db.pragma('freelist_count', { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private walBytes(): number {
    try {
      return statSync(`${this.file}-wal`).size;
    } catch {
      return 0;
    }
  }

  private loadState(): StoreState {
    const get = (key: string): number | null =>
      (this.db.prepare('SELECT value FROM state WHERE key = ?').pluck().get(key) as number | null | undefined) ?? null;
    const checkpoint = get('checkpoint') ?? 0;
    const highest = this.db.prepare('SELECT max(spool_offset) FROM records').pluck().get() as number | null;
    const depth = this.db.prepare('SELECT count(*) AS n, total(bytes) AS b FROM records').get() as { n: number; b: number };
    const from = get('inflight_from');
    const to = get('inflight_to');
    return {
      depthRecords: depth.n,
      depthBytes: depth.b,
      oldestUnwrittenAt: depth.n === 0 ? null : toNumberOrNull(this.oldestReceivedAt.get()),
      lastOffset: Math.max(highest ?? 0, checkpoint),
      checkpoint,
      inflight: from === null || to === null ? null : { from, to },
      appendTransactions: 0,
    };
  }
}

function toNumberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function configureAndCheck(db: Database.Database, file: string): void {
  // Exclusive: a second Sensorpipe on the same spool would hand out the same offsets and replay
  // the same records to two writers. It also keeps the WAL index in process memory, so no -shm
  // file can go stale.
  db.pragma('locking_mode = EXCLUSIVE');
  // auto_vacuum only takes effect before the first table exists, i.e. on a new file.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('journal_size_limit = 67108864');
  const problems = (db.pragma('quick_check') as { quick_check: string }[])
    .map((r) => r.quick_check)
    .filter((m) => m !== 'ok');
  if (problems.length > 0) throw new SpoolCorruptError(corruptMessage(file, problems.slice(0, 5).join('; ')));
}

function explainOpenError(file: string, err: unknown): unknown {
  if (err instanceof SpoolCorruptError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SpoolCorruptError(corruptMessage(file, `${(err as Error).message}, ${code}`));
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return Object.assign(
      new Error(
        `spool file ${file} is locked by another process: is a second Sensorpipe running with the same spool ` +
          `directory? Stop it or give each instance its own spool directory.`,
      ),
      { code: 'SPOOL_LOCKED' },
    );
  }
  return err;
}

function corruptMessage(file: string, detail: string): string {
  return (
    `spool file ${file} is corrupt (${detail}). Sensorpipe will not start on a damaged spool, because it could ` +
    `replay wrong data or lose track of offsets. To recover: stop Sensorpipe, move ${file} together with ` +
    `${file}-wal and ${file}-shm if present aside (e.g. to ${file}.corrupt), and start again; a new empty spool ` +
    `is created. Records that were above the checkpoint in the damaged file (acknowledged to devices but not yet ` +
    `written to the lake and warehouse) may be lost; keep the moved file for inspection and, if needed, salvage ` +
    `with 'sqlite3 <file> .recover'.`
  );
}
