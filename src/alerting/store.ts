/**
 * Alert state in the warehouse (tables: src/sinks/warehouse/schema-alerts.ts). Every write is one
 * `jobTransaction`, serialized with the pipeline's writes; the tables are small (one row per alert
 * and per group), so each evaluation rewrites the current state whole.
 */
import type { Warehouse } from '../core/sinks.js';
import type { EpochMs } from '../core/types.js';
import { msOf, sqlTs } from '../jobs/sql.js';
import { ALERTS_DDL } from '../sinks/warehouse/schema-alerts.js';
import type { RuleName } from './config.js';
import type { AlertEvent, AlertInstance, AlertSnapshot, GroupState } from './types.js';

type Row = Record<string, unknown>;
const ts = (ms: EpochMs | null) => (ms === null ? null : sqlTs(ms));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const labelsOf = (v: unknown) => JSON.parse(String(v)) as Record<string, string>;

function toAlert(r: Row): AlertInstance {
  return {
    id: String(r.id),
    rule: String(r.rule) as RuleName,
    labels: labelsOf(r.labels),
    state: String(r.state) as AlertInstance['state'],
    severity: String(r.severity) as AlertInstance['severity'],
    value: num(r.value),
    threshold: num(r.threshold),
    summary: String(r.summary),
    activeSince: msOf(r.active_since) as EpochMs,
    firedAt: msOf(r.fired_at),
    resolvedAt: msOf(r.resolved_at),
    updatedAt: msOf(r.updated_at) as EpochMs,
  };
}

export class AlertStore {
  constructor(private readonly warehouse: Warehouse) {}

  /** Creates the tables when missing and reads the state the last run left. */
  async open(): Promise<AlertSnapshot> {
    return this.warehouse.jobTransaction(async (tx) => {
      for (const ddl of ALERTS_DDL) await tx.run(ddl);
      const alerts = (await tx.all<Row>('SELECT * FROM alerts ORDER BY active_since, id')).map(toAlert);
      const groups = (await tx.all<Row>('SELECT * FROM alert_groups ORDER BY group_key')).map(
        (r): GroupState => ({
          key: String(r.group_key),
          rule: String(r.rule) as RuleName,
          labels: labelsOf(r.labels),
          status: String(r.status) as GroupState['status'],
          notifiedAt: msOf(r.notified_at) as EpochMs,
          notifiedIds: JSON.parse(String(r.notified_ids)) as string[],
        }),
      );
      return { alerts, groups };
    });
  }

  /** Replaces the current alerts, appends the events, and prunes history older than `keepFrom`. */
  async saveEvaluation(alerts: AlertInstance[], events: AlertEvent[], keepFrom: EpochMs): Promise<void> {
    await this.warehouse.jobTransaction(async (tx) => {
      await tx.run('DELETE FROM alerts');
      for (const a of alerts) {
        if (a.state === 'resolved' && (a.resolvedAt ?? 0) < keepFrom) continue;
        await tx.run(
          `INSERT INTO alerts (id, rule, labels, state, severity, value, threshold, summary, active_since, fired_at, resolved_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CAST($9 AS TIMESTAMP), CAST($10 AS TIMESTAMP), CAST($11 AS TIMESTAMP), CAST($12 AS TIMESTAMP))`,
          [a.id, a.rule, JSON.stringify(a.labels), a.state, a.severity, finite(a.value), finite(a.threshold), a.summary, ts(a.activeSince), ts(a.firedAt), ts(a.resolvedAt), ts(a.updatedAt)],
        );
      }
      for (const e of events) {
        await tx.run(
          `INSERT INTO alert_events (event_at, alert_id, rule, labels, from_state, to_state, value, summary)
           VALUES (CAST($1 AS TIMESTAMP), $2, $3, $4, $5, $6, $7, $8)`,
          [ts(e.at), e.alertId, e.rule, JSON.stringify(e.labels), e.from, e.to, finite(e.value), e.summary],
        );
      }
      await tx.run('DELETE FROM alert_events WHERE event_at < CAST($1 AS TIMESTAMP)', [ts(keepFrom)]);
    });
  }

  async saveGroups(groups: GroupState[]): Promise<void> {
    await this.warehouse.jobTransaction(async (tx) => {
      await tx.run('DELETE FROM alert_groups');
      for (const g of groups) {
        await tx.run(
          `INSERT INTO alert_groups (group_key, rule, labels, status, notified_at, notified_ids) VALUES ($1, $2, $3, $4, CAST($5 AS TIMESTAMP), $6)`,
          [g.key, g.rule, JSON.stringify(g.labels), g.status, ts(g.notifiedAt), JSON.stringify(g.notifiedIds)],
        );
      }
    });
  }

  /** State changes, newest first. */
  async history(limit: number): Promise<AlertEvent[]> {
    const rows = await this.warehouse.jobTransaction((tx) =>
      tx.all<Row>('SELECT * FROM alert_events ORDER BY event_at DESC, alert_id LIMIT $1', [Math.max(1, Math.floor(limit))]),
    );
    return rows.map((r) => ({
      at: msOf(r.event_at) as EpochMs,
      alertId: String(r.alert_id),
      rule: String(r.rule) as RuleName,
      labels: labelsOf(r.labels),
      from: String(r.from_state) as AlertEvent['from'],
      to: String(r.to_state) as AlertEvent['to'],
      value: num(r.value),
      summary: String(r.summary),
    }));
  }
}

function finite(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : v;
}
