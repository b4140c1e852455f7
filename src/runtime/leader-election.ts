import pg from 'pg';
import type { Logger } from '../core/types.js';
import { describeConnection, poolConfig, type PostgresConnection } from '../sinks/warehouse/postgres-warehouse.js';

export interface LeaderElectionOptions {
  connection: PostgresConnection;
  /** Collectors with the same name compete for one leadership (one writer, one scheduler). */
  name: string;
  /** How often a follower tries to take over, and the leader checks its session. */
  pollMs: number;
  logger: Logger;
  /**
   * Called once when this process becomes the leader: start the duties only a leader has (the
   * writer draining the shared spool, the job scheduler, alert evaluation). A rejection is logged
   * and leadership is given up, so another collector can try.
   */
  onLeader: () => Promise<void>;
  /**
   * Called when the leader's PostgreSQL session is gone while it runs: another collector may be
   * leader already, so this one must stop writing at once. The runtime stops the process
   * (exit code 5) and lets its supervisor start it again as a follower.
   */
  onLost: (reason: string) => void;
}

/**
 * One leader among the collectors that share a JetStream spool and a PostgreSQL warehouse: the
 * holder of a session-level advisory lock (`pg_try_advisory_lock(hashtext('sensorpipe-leader:'
 * || name))`) on a dedicated connection. PostgreSQL releases the lock when that session ends, so
 * a leader killed with -9 (its socket closed by the kernel) is replaced within `pollMs`.
 */
export class LeaderElection {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private leading = false;
  private busy = false;

  private constructor(private readonly o: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Connects and tries once at once; then keeps trying (follower) or checking (leader) every pollMs. */
  static async start(o: LeaderElectionOptions): Promise<LeaderElection> {
    const e = new LeaderElection(o);
    await e.tick();
    e.timer = setInterval(() => void e.tick(), o.pollMs);
    e.timer.unref();
    return e;
  }

  private async connect(): Promise<pg.Client> {
    const { connectionString, host, port, database, user, password, ssl } = poolConfig(this.o.connection, 'public', 1);
    const client = new pg.Client({ connectionString, host, port, database, user, password, ssl, application_name: `sensorpipe-leader:${this.o.name}` });
    client.on('error', (err) => this.lost(`the leader-election session failed: ${err.message}`));
    await client.connect();
    return client;
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (this.leading) {
        await this.client!.query('select 1');
        return;
      }
      this.client ??= await this.connect();
      const r = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [`sensorpipe-leader:${this.o.name}`]);
      if (!r.rows[0].ok) return;
      this.leading = true;
      this.o.logger.info({ name: this.o.name }, `this collector is now the leader of "${this.o.name}": it runs the writer, the jobs and the alerts`);
      try {
        await this.o.onLeader();
      } catch (err) {
        this.o.logger.error({ err }, 'could not start the leader duties; giving up leadership so another collector can try');
        this.leading = false;
        await this.client.query('select pg_advisory_unlock(hashtext($1))', [`sensorpipe-leader:${this.o.name}`]).catch(() => undefined);
      }
    } catch (err) {
      if (this.leading) this.lost(`the leader-election session to ${describeConnection(this.o.connection)} failed: ${(err as Error).message}`);
      else {
        this.o.logger.warn({ err: (err as Error).message }, `leader election: cannot reach PostgreSQL at ${describeConnection(this.o.connection)}; retrying`);
        await this.client?.end().catch(() => undefined);
        this.client = null;
      }
    } finally {
      this.busy = false;
    }
  }

  private lost(reason: string): void {
    if (!this.leading || this.stopped) return;
    this.leading = false;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.o.onLost(reason);
  }

  /** Gives leadership up (the lock goes with the session). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.leading = false;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
