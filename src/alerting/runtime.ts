/**
 * Alerting as one component of the running process: the notifiers, the /v1/sql latency tracker and
 * the alert manager, plus gauges for /metrics (`gauges()`: structural, register each with
 * `SensorpipeMetrics.registerGauge`).
 */
import type { NotifierSet } from '../core/notify.js';
import type { Warehouse } from '../core/sinks.js';
import type { Clock, Logger, SpoolStats } from '../core/types.js';
import type { Timer } from '../jobs/timer.js';
import { AlertManager } from './alert-manager.js';
import type { AlertsConfig } from './config.js';
import { RULE_NAMES } from './evaluate.js';
import { LatencyTracker } from './latency-tracker.js';

export interface AlertingDeps {
  warehouse: Warehouse;
  spoolStats: () => Promise<SpoolStats>;
  notifiers: NotifierSet;
  clock: Clock;
  logger: Logger;
  timer?: Timer;
}

/** A gauge in the shape `SensorpipeMetrics.registerGauge` takes. */
export interface AlertGauge {
  name: string;
  help: string;
  labelNames: string[];
  read(): { labels: Record<string, string>; value: number }[];
}

export class Alerting {
  private constructor(
    readonly manager: AlertManager,
    readonly notifiers: NotifierSet,
    readonly latency: LatencyTracker,
    private readonly clock: Clock,
    private readonly config: AlertsConfig,
  ) {}

  /** The rules in force (shown by GET /v1/alerts). */
  get rules(): AlertsConfig['rules'] {
    return this.config.rules;
  }

  /** Opens the alert state and starts evaluating (unless `alerts.enabled` is false). */
  static async start(config: AlertsConfig, deps: AlertingDeps): Promise<Alerting> {
    const alerting = await Alerting.open(config, deps);
    alerting.startEvaluating();
    return alerting;
  }

  /** Opens the alert state without evaluating: a collector that is not the leader serves the API only. */
  static async open(config: AlertsConfig, deps: AlertingDeps): Promise<Alerting> {
    const latency = new LatencyTracker();
    const manager = await AlertManager.open({ ...deps, latency }, config);
    return new Alerting(manager, deps.notifiers, latency, deps.clock, config);
  }

  /** Evaluates now and then every `evaluateIntervalS` (the leader only, when collectors share a warehouse). */
  startEvaluating(): void {
    this.manager.start();
  }

  /** For the HTTP app: every POST /v1/sql answer's duration. */
  recordSqlDuration(ms: number): void {
    this.latency.record(ms, this.clock.now());
  }

  stop(): Promise<void> {
    return this.manager.stop();
  }

  gauges(): AlertGauge[] {
    return [
      {
        name: 'sensorpipe_alerts',
        help: 'Alerts by rule and state (pending, firing; resolved ones are in GET /v1/alerts history)',
        labelNames: ['rule', 'state'],
        read: () => {
          const alerts = this.manager.current().alerts;
          return RULE_NAMES.flatMap((rule) =>
            (['pending', 'firing'] as const).map((state) => ({ labels: { rule, state }, value: alerts.filter((a) => a.rule === rule && a.state === state).length })),
          );
        },
      },
      {
        name: 'sensorpipe_notifier_up',
        help: '1 while the notifier delivers (or has not been used), 0 once a notification gave up after its retries, until one succeeds',
        labelNames: ['notifier', 'kind'],
        read: () => this.notifiers.states().map((s) => ({ labels: { notifier: s.name, kind: s.kind }, value: s.status === 'failing' ? 0 : 1 })),
      },
      {
        name: 'sensorpipe_notifier_notifications',
        help: 'Notifications per notifier by result (sent, failed = gave up after retries) since process start',
        labelNames: ['notifier', 'result'],
        read: () =>
          this.notifiers.states().flatMap((s) => [
            { labels: { notifier: s.name, result: 'sent' }, value: s.sent },
            { labels: { notifier: s.name, result: 'failed' }, value: s.failed },
          ]),
      },
    ];
  }
}
