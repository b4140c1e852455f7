/**
 * Job locks: the same job never runs twice at once.
 *
 * The seam is `JobLock`. One process (the default, DuckDB) uses `InProcessJobLock`. Several
 * processes sharing a PostgreSQL warehouse will use an implementation over advisory locks on a
 * dedicated session: `tryAcquire` = `pg_try_advisory_lock(hashtext('sensorpipe-job:' || key))`,
 * `acquire` = `pg_advisory_lock(...)`, release = `pg_advisory_unlock(...)` — the lock dies with the
 * session, so a crashed process never leaves a job locked.
 *
 * Keys: a job's `lockKey` (its name unless it says otherwise). The aggregate jobs share one key
 * (`aggregates`), so a manual backfill of one never interleaves with a run of another; this keeps
 * late-data propagation between levels exact on engines whose transactions run concurrently.
 */
export type Release = () => Promise<void>;

export interface JobLock {
  /** Takes the lock now, or answers null when it is held. */
  tryAcquire(key: string): Promise<Release | null>;
  /** Takes the lock, waiting for the holder to release it. */
  acquire(key: string): Promise<Release>;
  /** Whether the lock is held (by anyone this implementation can see). */
  isHeld(key: string): boolean;
}

export class InProcessJobLock implements JobLock {
  private readonly held = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();

  async tryAcquire(key: string): Promise<Release | null> {
    if (this.held.has(key)) return null;
    this.held.add(key);
    return this.releaser(key);
  }

  async acquire(key: string): Promise<Release> {
    if (!this.held.has(key)) {
      this.held.add(key);
      return this.releaser(key);
    }
    // Ownership is handed over directly on release, so no one can slip in between.
    await new Promise<void>((resolve) => {
      const q = this.waiters.get(key) ?? [];
      q.push(resolve);
      this.waiters.set(key, q);
    });
    return this.releaser(key);
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  private releaser(key: string): Release {
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const next = this.waiters.get(key)?.shift();
      if (next) next();
      else {
        this.held.delete(key);
        this.waiters.delete(key);
      }
    };
  }
}
