/**
 * Runs the alert rules on an interval: gathers signals, applies the state machine (evaluate.ts),
 * stores the result in the warehouse, then sends the due group notifications through the notifiers
 * and records which went out. One evaluation at a time; `evaluateNow()` lets tests (and the CLI)
 * drive it with an injected clock instead of waiting for the timer.
 *
 * Failure handling: a signal that cannot be measured leaves its rule's alerts as they are; a
 * warehouse fault while storing is logged and the evaluation is retried at the next tick (nothing
 * is sent for an evaluation that was not stored, so a restart cannot repeat it). A notification
 * that no notifier could deliver stays due and is tried again at the next evaluation.
 */
import type { NotifierSet } from '../core/notify.js';
import type { Warehouse } from '../core/sinks.js';
import type { Clock, EpochMs, Logger, SpoolStats } from '../core/types.js';
import { systemTimer, type Timer } from '../jobs/timer.js';
import type { AlertsConfig } from './config.js';
import { evaluateAlerts, markNotified } from './evaluate.js';
import type { LatencyTracker } from './latency-tracker.js';
import { renderNotice } from './render.js';
import { observe } from './rules.js';
import { SignalCollector } from './signals.js';
import { AlertStore } from './store.js';
import type { AlertEvent, AlertSnapshot, GroupNotice } from './types.js';

export interface AlertManagerDeps {
  warehouse: Warehouse;
  spoolStats: () => Promise<SpoolStats>;
  latency: LatencyTracker;
  notifiers: NotifierSet;
  clock: Clock;
  logger: Logger;
  timer?: Timer;
}

export interface EvaluationReport {
  at: EpochMs;
  events: AlertEvent[];
  notifications: { group: string; status: GroupNotice['status']; delivered: boolean; results: { name: string; ok: boolean; error?: string }[] }[];
}

export class AlertManager {
  private snapshot: AlertSnapshot;
  private evaluatedAt: EpochMs | null = null;
  private lastError: string | null = null;
  /** Evaluations run one after another: each call chains onto the previous one. */
  private queue: Promise<unknown> = Promise.resolve();
  private handle: unknown = null;
  private stopped = false;
  private readonly store: AlertStore;
  private readonly collector: SignalCollector;
  private readonly timer: Timer;
  private readonly logger: Logger;

  private constructor(private readonly deps: AlertManagerDeps, private readonly config: AlertsConfig, store: AlertStore, snapshot: AlertSnapshot) {
    this.store = store;
    this.snapshot = snapshot;
    this.collector = new SignalCollector(deps, config.rules);
    this.timer = deps.timer ?? systemTimer;
    this.logger = deps.logger.child({ component: 'alerts' });
  }

  /** Creates the alert tables when missing and loads the state a previous run left. */
  static async open(deps: AlertManagerDeps, config: AlertsConfig): Promise<AlertManager> {
    const store = new AlertStore(deps.warehouse);
    return new AlertManager(deps, config, store, await store.open());
  }

  /** Evaluates now and then every `evaluateIntervalS`. */
  start(): void {
    if (!this.config.enabled) return;
    this.stopped = false;
    this.arm(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    await this.queue;
  }

  /** Current alerts (pending, firing, and resolved within the history), group notification state, last evaluation. */
  current() {
    return { enabled: this.config.enabled, evaluatedAt: this.evaluatedAt, lastError: this.lastError, alerts: this.snapshot.alerts, groups: this.snapshot.groups };
  }

  history(limit: number): Promise<AlertEvent[]> {
    return this.store.history(limit);
  }

  states() {
    return this.deps.notifiers.states();
  }

  /** One evaluation, after any already running or queued. Rejects when it failed (also logged). */
  evaluateNow(): Promise<EvaluationReport> {
    const run = this.queue.then(() => this.evaluate());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    this.handle = this.timer.set(() => {
      this.handle = null;
      this.evaluateNow()
        .catch(() => undefined)
        .finally(() => this.arm(this.config.evaluateIntervalS * 1000));
    }, delayMs);
  }

  private async evaluate(): Promise<EvaluationReport> {
    const now = this.deps.clock.now();
    const report: EvaluationReport = { at: now, events: [], notifications: [] };
    try {
      const signals = await this.collector.collect(now);
      const result = evaluateAlerts(this.snapshot, observe(signals, this.config.rules, now), this.config.rules, now, this.config.repeatIntervalS * 1000);
      await this.store.saveEvaluation(result.alerts, result.events, now - this.config.historyDays * 86_400_000);
      this.snapshot = { alerts: result.alerts.filter((a) => a.state !== 'resolved' || (a.resolvedAt ?? 0) >= now - this.config.historyDays * 86_400_000), groups: this.snapshot.groups };
      report.events = result.events;
      for (const e of result.events) {
        const line = { alert: e.alertId, from: e.from, to: e.to, value: e.value };
        if (e.to === 'firing') this.logger.warn(line, `alert firing: ${e.summary}`);
        else if (e.to === 'resolved') this.logger.info(line, `alert resolved: ${e.alertId}`);
        else this.logger.debug(line, `alert ${e.from} -> ${e.to}: ${e.summary}`);
      }
      // Groups are sent concurrently: one notifier retrying for a minute must not hold up the others.
      const sends = await Promise.all(result.due.map((notice) => this.deps.notifiers.broadcast(renderNotice(notice, now, this.config.dashboardUrl))));
      let groups = this.snapshot.groups;
      result.due.forEach((notice, i) => {
        const sent = sends[i];
        // With no notifier configured there is nobody to tell: the group counts as notified so
        // adding a notifier later does not replay old news (repeats still come on schedule).
        const delivered = sent.length === 0 || sent.some((s) => s.result.ok);
        if (delivered) groups = markNotified(groups, notice, now);
        report.notifications.push({ group: notice.key, status: notice.status, delivered, results: sent.map((s) => ({ name: s.name, ok: s.result.ok, error: s.result.error })) });
      });
      if (result.due.length) await this.store.saveGroups(groups);
      this.snapshot = { ...this.snapshot, groups };
      this.evaluatedAt = now;
      this.lastError = null;
      return report;
    } catch (err) {
      this.lastError = `${(err as Error).message}`;
      this.logger.error({ err }, `alert evaluation failed: ${(err as Error).message}; retrying at the next evaluation (every ${this.config.evaluateIntervalS} s)`);
      throw err;
    }
  }
}
