/**
 * DDL of the alerting tables (src/alerting, docs/alerting.md). Alert state lives in the warehouse,
 * not in a separate SQLite file: it is then in the one file operators back up, BI tools can chart
 * alert history next to the data, and a scaled-out deployment (PostgreSQL) shares it between
 * processes. Portable SQL, idempotent; `AlertStore.open` runs it, so it also upgrades older files.
 *
 * - `alerts`: every alert (rule + labels; `labels` is JSON text) in its current state pending |
 *   firing | resolved; resolved ones are pruned after `alerts.historyDays`.
 * - `alert_events`: every state change (the history), pruned after `alerts.historyDays`.
 * - `alert_groups`: per notification group, when it was last notified and which alerts were in it
 *   (`notified_ids` is a JSON array). A restart reads it, so it neither forgets nor repeats.
 */
export const ALERTS_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS alerts (
    id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    value DOUBLE PRECISION,
    threshold DOUBLE PRECISION,
    summary VARCHAR NOT NULL,
    active_since TIMESTAMP NOT NULL,
    fired_at TIMESTAMP,
    resolved_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS alert_events (
    event_at TIMESTAMP NOT NULL,
    alert_id VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,
    from_state VARCHAR NOT NULL,
    to_state VARCHAR NOT NULL,
    value DOUBLE PRECISION,
    summary VARCHAR NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS alert_groups (
    group_key VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    notified_at TIMESTAMP NOT NULL,
    notified_ids VARCHAR NOT NULL
  )`,
];
