/**
 * The alert state machine and grouping, as pure functions of (previous snapshot, observations,
 * rules, now): no I/O, no clock of its own, so tests drive it with plain numbers.
 *
 * Per alert (rule + labels): a condition that holds becomes `pending`, and `firing` once it has held
 * for the rule's `forS` (at once when forS is 0). A pending alert whose condition clears is dropped
 * (it never fired, nobody was told); a firing one becomes `resolved`. A rule that could not tell
 * (`null` observations) leaves its alerts untouched. A disabled rule resolves its alerts.
 *
 * Per group (the rule's `groupBy` labels): one notification for all its firing alerts, sent when the
 * group first fires, when an alert joins it (or fires again after resolving), and again every `repeatIntervalMs` while it fires; one
 * "resolved" notification once none of its alerts fires any more.
 */
import type { AlertRulesConfig, RuleName } from './config.js';
import type { AlertEvent, AlertInstance, AlertSnapshot, GroupNotice, GroupState, RuleObservations } from './types.js';
import type { EpochMs } from '../core/types.js';
import type { NotificationSeverity } from '../core/notify.js';

export const RULE_NAMES: readonly RuleName[] = ['error_rate', 'pipeline_lag', 'sensor_silent', 'completeness', 'job_failed', 'query_latency'];

/** `rule{k=v,…}` with labels sorted: a stable id across restarts. */
export function alertId(rule: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return parts.length ? `${rule}{${parts.join(',')}}` : rule;
}

/** The group an alert belongs to under its rule's `groupBy`. */
export function groupOf(a: Pick<AlertInstance, 'rule' | 'labels'>, rules: AlertRulesConfig): { key: string; labels: Record<string, string> } {
  const labels: Record<string, string> = {};
  for (const l of rules[a.rule].groupBy) if (l !== 'rule' && a.labels[l] !== undefined) labels[l] = a.labels[l];
  return { key: alertId(a.rule, labels), labels };
}

export interface EvaluationResult {
  alerts: AlertInstance[];
  events: AlertEvent[];
  /** Group notifications due now; mark each delivered one with `markNotified`. */
  due: GroupNotice[];
}

export function evaluateAlerts(
  prev: AlertSnapshot,
  observed: Partial<Record<RuleName, RuleObservations>>,
  rules: AlertRulesConfig,
  now: EpochMs,
  repeatIntervalMs: number,
): EvaluationResult {
  const events: AlertEvent[] = [];
  const next: AlertInstance[] = [];
  const event = (a: AlertInstance, from: AlertEvent['from'], to: AlertEvent['to']) =>
    events.push({ at: now, alertId: a.id, rule: a.rule, labels: a.labels, from, to, value: a.value, summary: a.summary });

  for (const rule of RULE_NAMES) {
    const cfg = rules[rule];
    const mine = prev.alerts.filter((a) => a.rule === rule);
    const obs = cfg.enabled ? observed[rule] : [];
    if (obs === undefined || obs === null) {
      next.push(...mine);
      continue;
    }
    const byId = new Map(obs.map((o) => [alertId(rule, o.labels), o]));
    const live = new Map(mine.filter((a) => a.state !== 'resolved').map((a) => [a.id, a]));
    for (const a of mine) {
      const o = byId.get(a.id);
      if (a.state === 'resolved') {
        if (!o) next.push(a); // a new episode replaces it below
        continue;
      }
      if (!o) {
        if (a.state === 'pending') event(a, 'pending', 'inactive');
        else {
          const r: AlertInstance = { ...a, state: 'resolved', resolvedAt: now, updatedAt: now };
          event(r, 'firing', 'resolved');
          next.push(r);
        }
        continue;
      }
      const u: AlertInstance = { ...a, value: o.value, threshold: o.threshold, summary: o.summary, severity: cfg.severity, updatedAt: now };
      if (a.state === 'pending' && now - a.activeSince >= cfg.forS * 1000) {
        u.state = 'firing';
        u.firedAt = now;
        event(u, 'pending', 'firing');
      }
      next.push(u);
    }
    for (const [id, o] of byId) {
      if (live.has(id)) continue;
      const a: AlertInstance = {
        id,
        rule,
        labels: o.labels,
        state: cfg.forS === 0 ? 'firing' : 'pending',
        severity: cfg.severity,
        value: o.value,
        threshold: o.threshold,
        summary: o.summary,
        activeSince: now,
        firedAt: cfg.forS === 0 ? now : null,
        resolvedAt: null,
        updatedAt: now,
      };
      event(a, 'inactive', a.state);
      next.push(a);
    }
  }
  return { alerts: next, events, due: dueNotices(next, prev.groups, rules, now, repeatIntervalMs) };
}

const SEVERITY_ORDER: NotificationSeverity[] = ['info', 'warning', 'critical'];
const worst = (alerts: AlertInstance[]): NotificationSeverity =>
  alerts.reduce<NotificationSeverity>((w, a) => (SEVERITY_ORDER.indexOf(a.severity) > SEVERITY_ORDER.indexOf(w) ? a.severity : w), 'info');

function dueNotices(alerts: AlertInstance[], groups: GroupState[], rules: AlertRulesConfig, now: EpochMs, repeatIntervalMs: number): GroupNotice[] {
  const firing = new Map<string, { rule: RuleName; labels: Record<string, string>; alerts: AlertInstance[] }>();
  for (const a of alerts) {
    if (a.state !== 'firing') continue;
    const g = groupOf(a, rules);
    const entry = firing.get(g.key) ?? { rule: a.rule, labels: g.labels, alerts: [] };
    entry.alerts.push(a);
    firing.set(g.key, entry);
  }
  const prevByKey = new Map(groups.map((g) => [g.key, g]));
  const due: GroupNotice[] = [];
  for (const [key, g] of firing) {
    const prev = prevByKey.get(key);
    let reason: GroupNotice['reason'] | null = null;
    if (!prev || prev.status === 'resolved') reason = 'new';
    // An alert new to the group, or one that resolved and fired again since the last notification.
    else if (g.alerts.some((a) => !prev.notifiedIds.includes(a.id) || (a.firedAt ?? 0) > prev.notifiedAt)) reason = 'changed';
    else if (now - prev.notifiedAt >= repeatIntervalMs) reason = 'repeat';
    if (reason) due.push({ key, rule: g.rule, labels: g.labels, status: 'firing', reason, severity: worst(g.alerts), alerts: g.alerts });
  }
  for (const prev of groups) {
    if (prev.status !== 'firing' || firing.has(prev.key)) continue;
    const resolved = alerts.filter((a) => prev.notifiedIds.includes(a.id) && a.state === 'resolved');
    due.push({ key: prev.key, rule: prev.rule, labels: prev.labels, status: 'resolved', reason: 'resolved', severity: 'info', alerts: resolved });
  }
  return due;
}

/** The group state after `notice` was delivered at `now`. */
export function markNotified(groups: GroupState[], notice: GroupNotice, now: EpochMs): GroupState[] {
  const rest = groups.filter((g) => g.key !== notice.key);
  if (notice.status === 'resolved') return rest;
  return [...rest, { key: notice.key, rule: notice.rule, labels: notice.labels, status: 'firing', notifiedAt: now, notifiedIds: notice.alerts.map((a) => a.id).sort() }];
}
