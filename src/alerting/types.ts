/** The values the alerting parts pass around (docs/alerting.md explains the states). */
import type { NotificationSeverity } from '../core/notify.js';
import type { EpochMs } from '../core/types.js';
import type { RuleName } from './config.js';

export type AlertStateName = 'pending' | 'firing' | 'resolved';

/** One condition a rule found true right now (e.g. "sensor s-3 silent for 12 min"). */
export interface Observation {
  /** Identify the alert together with the rule: `sensor_id`, `metric`, `job`. */
  labels: Record<string, string>;
  value: number | null;
  threshold: number | null;
  /** One line for people: what is wrong, with the number. */
  summary: string;
}

/**
 * What a rule saw at one evaluation: the conditions that hold, or `null` when it cannot tell
 * (no traffic, no baseline yet, a query failed). `null` leaves the rule's alerts as they are:
 * not knowing is no reason to resolve.
 */
export type RuleObservations = Observation[] | null;

/** One alert: a rule plus its labels, through pending → firing → resolved. */
export interface AlertInstance {
  /** `rule` plus its labels, sorted: `sensor_silent{sensor_id=s-3}`. */
  id: string;
  rule: RuleName;
  labels: Record<string, string>;
  state: AlertStateName;
  severity: NotificationSeverity;
  value: number | null;
  threshold: number | null;
  summary: string;
  /** Since when the condition holds (this episode). */
  activeSince: EpochMs;
  firedAt: EpochMs | null;
  resolvedAt: EpochMs | null;
  updatedAt: EpochMs;
}

/** A state change, kept as history. `inactive` = not known as an alert (before pending, after a pending one cleared). */
export interface AlertEvent {
  at: EpochMs;
  alertId: string;
  rule: RuleName;
  labels: Record<string, string>;
  from: AlertStateName | 'inactive';
  to: AlertStateName | 'inactive';
  value: number | null;
  summary: string;
}

/** What was last notified for a group (absent until its first notification went out). */
export interface GroupState {
  key: string;
  rule: RuleName;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  notifiedAt: EpochMs;
  /** Alert ids that were firing in that notification. */
  notifiedIds: string[];
}

/** A notification the evaluator wants sent for a group. */
export interface GroupNotice {
  key: string;
  rule: RuleName;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  /** Why now: first firing, new alerts joined, repeat interval passed, all resolved. */
  reason: 'new' | 'changed' | 'repeat' | 'resolved';
  severity: NotificationSeverity;
  /** The firing alerts (status firing) or the ones that resolved (status resolved). */
  alerts: AlertInstance[];
}

export interface AlertSnapshot {
  alerts: AlertInstance[];
  groups: GroupState[];
}
