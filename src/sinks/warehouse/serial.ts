/**
 * A DuckDB connection must never run two statements at once. `Serial` queues work for one
 * connection; `ConnectionPool` hands each caller a connection of its own.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after everything queued before it has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when everything queued so far has settled. */
  idle(): Promise<void> {
    return this.run(async () => undefined);
  }
}

export interface Closable {
  closeSync(): void;
  interrupt(): void;
}

/** At most `size` connections, created lazily; callers beyond that wait in FIFO order. */
export class ConnectionPool<C extends Closable> {
  private readonly idleConns: C[] = [];
  private readonly busy = new Set<C>();
  private readonly waiters: ((c: C | Error) => void)[] = [];
  private created = 0;
  private closed = false;

  constructor(
    private readonly create: () => Promise<C>,
    private readonly size: number,
  ) {}

  /**
   * Runs `fn` with a connection to itself. When `fn` throws an error for which `discard(err)` is
   * true (e.g. after an interrupt), the connection is closed rather than reused.
   */
  async use<T>(fn: (c: C) => Promise<T>, discard: (err: unknown) => boolean = () => false): Promise<T> {
    const c = await this.acquire();
    let keep = true;
    try {
      return await fn(c);
    } catch (err) {
      if (discard(err)) keep = false;
      throw err;
    } finally {
      this.release(c, keep);
    }
  }

  private async acquire(): Promise<C> {
    if (this.closed) throw new Error('warehouse is closed');
    const c = this.idleConns.pop();
    if (c) {
      this.busy.add(c);
      return c;
    }
    if (this.created < this.size) {
      this.created++;
      try {
        const fresh = await this.create();
        this.busy.add(fresh);
        return fresh;
      } catch (err) {
        this.created--;
        throw err;
      }
    }
    const got = await new Promise<C | Error>((resolve) => this.waiters.push(resolve));
    if (got instanceof Error) throw got;
    this.busy.add(got);
    return got;
  }

  private release(c: C, keep: boolean): void {
    this.busy.delete(c);
    if (!keep || this.closed) {
      this.created--;
      safeClose(c);
      const w = this.waiters.shift();
      if (w && !this.closed) {
        // Make room for the waiter with a new connection.
        this.created++;
        this.create().then(w, (err: unknown) => {
          this.created--;
          w(err instanceof Error ? err : new Error(String(err)));
        });
      }
      return;
    }
    const w = this.waiters.shift();
    if (w) w(c);
    else this.idleConns.push(c);
  }

  /** Interrupts running work, refuses new work, closes idle connections (busy ones close on release). */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(new Error('warehouse is closed'));
    for (const c of this.busy) c.interrupt();
    for (const c of this.idleConns.splice(0)) safeClose(c);
  }

  /** Resolves when no connection is in use any more (after `close`). */
  async drained(pollMs = 5): Promise<void> {
    while (this.busy.size > 0) await new Promise((r) => setTimeout(r, pollMs));
  }
}

function safeClose(c: Closable): void {
  try {
    c.closeSync();
  } catch {
    // already closed
  }
}
