/**
 * Gathers the numbers the rules judge (rules.ts `Signals`) from the running system: the warehouse
 * accounting, the spool, readings and the registry, job_runs, and the /v1/sql latency tracker.
 * Each part is measured on its own: a part that fails is logged and becomes `null` (its rule then
 * leaves its alerts as they are) instead of failing the whole evaluation.
 */
import type { Warehouse, SqlTx } from '../core/sinks.js';
import type { EpochMs, Logger, SpoolStats } from '../core/types.js';
import { msOf, sqlTs } from '../jobs/sql.js';
import type { AlertRulesConfig } from './config.js';
import type { LatencyTracker } from './latency-tracker.js';
import type { Signals } from './rules.js';

export interface SignalDeps {
  warehouse: Warehouse;
  spoolStats: () => Promise<SpoolStats>;
  latency: LatencyTracker;
  logger: Logger;
}

type Row = Record<string, unknown>;

export class SignalCollector {
  /** Accounting totals seen at earlier evaluations: the error rate is the difference over the window. */
  private totals: { at: EpochMs; received: number; errors: number }[] = [];

  constructor(private readonly deps: SignalDeps, private readonly rules: AlertRulesConfig) {}

  async collect(now: EpochMs): Promise<Signals> {
    const part = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (err) {
        this.deps.logger.warn({ err, signal: name }, `alerting: could not measure ${name}; its rule keeps its alerts as they are until the next evaluation`);
        return null;
      }
    };
    return {
      errorRate: await part('error rate', () => this.errorRate(now)),
      lagMs: await part('pipeline lag', async () => {
        const s = await this.deps.spoolStats();
        return s.oldestUnwrittenAt === null ? 0 : Math.max(0, now - s.oldestUnwrittenAt);
      }),
      sensors: await part('sensor last seen', () => this.deps.warehouse.jobTransaction((tx) => this.sensors(tx, now))),
      jobs: await part('job runs', () => this.deps.warehouse.jobTransaction((tx) => this.jobs(tx, now))),
      queryLatency: await part('query latency', async () => {
        const w = this.rules.query_latency.windowS * 1000;
        this.deps.latency.prune(now);
        const recent = this.deps.latency.p95(now - w, now + 1);
        const base = this.deps.latency.p95(now - w - 86_400_000, now - w);
        return { recentP95Ms: recent.p95Ms, recentCount: recent.count, baselineP95Ms: base.p95Ms, baselineCount: base.count };
      }),
    };
  }

  private async errorRate(now: EpochMs): Promise<Signals['errorRate']> {
    const rows = await this.deps.warehouse.accounting();
    const sum = (o: string) => rows.filter((r) => r.outcome === o).reduce((n, r) => n + r.items, 0);
    const errors = sum('quarantined') + sum('rejected');
    const received = sum('accepted') + errors;
    const windowMs = this.rules.error_rate.windowS * 1000;
    // The baseline: the newest sample at least a window old, else the oldest (right after a start).
    const older = this.totals.filter((t) => t.at <= now - windowMs);
    const base = older.length ? older[older.length - 1] : this.totals[0];
    this.totals = [...(older.length ? [older[older.length - 1]] : []), ...this.totals.filter((t) => t.at > now - windowMs), { at: now, received, errors }];
    if (!base || base.at >= now) return null;
    return { received: received - base.received, errors: errors - base.errors, windowMs: now - base.at };
  }

  private async sensors(tx: SqlTx, now: EpochMs): Promise<Signals['sensors']> {
    const lookbackFrom = sqlTs(now - this.rules.sensor_silent.lookbackS * 1000);
    const windowFrom = sqlTs(now - this.rules.completeness.windowS * 1000);
    const rows = await tx.all<Row>(
      `SELECT s.sensor_id, s.expected_interval_s, r.last_seen, r.first_seen, COALESCE(r.samples, 0) AS samples
       FROM sensors s
       LEFT JOIN (
         SELECT sensor_id, max(received_at) AS last_seen, min(ts) AS first_seen,
           count(DISTINCT CASE WHEN ts >= CAST($2 AS TIMESTAMP) AND ts < CAST($3 AS TIMESTAMP) THEN ts END) AS samples
         FROM readings WHERE received_at >= CAST($1 AS TIMESTAMP) GROUP BY sensor_id
       ) r ON r.sensor_id = s.sensor_id
       WHERE s.expected_interval_s > 0
       ORDER BY s.sensor_id`,
      [lookbackFrom, windowFrom, sqlTs(now)],
    );
    return rows.map((r) => ({
      sensorId: String(r.sensor_id),
      expectedIntervalS: Number(r.expected_interval_s),
      lastSeenAt: msOf(r.last_seen),
      firstSeenAt: msOf(r.first_seen),
      samplesInWindow: Number(r.samples),
    }));
  }

  private async jobs(tx: SqlTx, now: EpochMs): Promise<Signals['jobs']> {
    const rows = await tx.all<Row>(
      `SELECT job, status, finished_at, error FROM (
         SELECT job, status, finished_at, error, row_number() OVER (PARTITION BY job ORDER BY finished_at DESC) AS rn
         FROM job_runs WHERE status IN ('ok', 'failed') AND finished_at >= CAST($1 AS TIMESTAMP)
       ) t WHERE rn = 1 ORDER BY job`,
      [sqlTs(now - this.rules.job_failed.lookbackS * 1000)],
    );
    return rows.map((r) => ({
      job: String(r.job),
      status: String(r.status) as 'ok' | 'failed',
      finishedAt: msOf(r.finished_at) as EpochMs,
      error: (r.error as string | null) ?? null,
    }));
  }
}
