import type { EpochMs } from './types.js';

/** How bad it is; chat formats colour by it. */
export type NotificationSeverity = 'info' | 'warning' | 'critical';

/**
 * One message for people, sent through every configured notifier (generic JSON webhook, Slack,
 * Microsoft Teams). Alert groups and the weekly digest both travel as a Notification; each notifier
 * renders it in its own payload format.
 */
export interface Notification {
  /** What it is about; receivers may route on it. */
  kind: 'alert' | 'digest' | 'test';
  /** One line: "FIRING: error rate 3.2 % (> 1 %) over 5 min". */
  title: string;
  /** A few lines of plain text; may contain Markdown links `[text](url)`. */
  text: string;
  severity: NotificationSeverity;
  /** For alerts: whether the group is firing or has resolved. */
  status?: 'firing' | 'resolved';
  /** Key facts, shown as fields/facts by chat formats (rule, value, threshold, sensors, …). */
  facts?: { name: string; value: string }[];
  /** Where to look further (dashboard view, report HTML), absolute URL when known. */
  url?: string;
  /** Stable subject key: the alert group key, or the digest week (`digest:2026-W49`). */
  key: string;
  /** When the event happened (server clock). */
  at: EpochMs;
  /** Machine-readable details; the generic webhook sends them as-is, chat formats ignore them. */
  data?: Record<string, unknown>;
}

/** What happened to one `send`. */
export interface DeliveryResult {
  ok: boolean;
  /** HTTP attempts made (1 when the first succeeded). */
  attempts: number;
  /** Why it failed, for the operator ("HTTP 500 from hooks.slack.com after 4 attempts"). */
  error?: string;
}

/** A notifier's health, for `GET /v1/alerts`, the dashboard and `/metrics`. */
export interface NotifierState {
  name: string;
  kind: 'webhook' | 'slack' | 'teams';
  /** `failing` once a send gave up after its retries, until the next successful send. */
  status: 'ok' | 'failing' | 'unused';
  sent: number;
  failed: number;
  /** Consecutive sends that gave up; 0 after a success. */
  consecutiveFailures: number;
  lastAttemptAt: EpochMs | null;
  lastSuccessAt: EpochMs | null;
  lastError: string | null;
}

/**
 * Delivers notifications to one destination.
 *
 * `send` retries transient failures (network errors, HTTP 429 and 5xx) with exponential backoff and
 * resolves once the notification is delivered or the notifier gave up. A failed delivery is a value
 * (`ok: false` with an error), never a rejection: the caller (alert evaluator, digest) records it and
 * carries on; the failure is also logged and kept in `state()` so it is visible in the API and
 * `/metrics`. The alert manager marks a group as notified once at least one notifier delivered it;
 * when every notifier failed, the group stays due and is sent again at the next evaluation.
 */
export interface Notifier {
  readonly name: string;
  readonly kind: NotifierState['kind'];
  send(notification: Notification): Promise<DeliveryResult>;
  state(): NotifierState;
}

/**
 * All configured notifiers as one (the runtime's `Sensorpipe.notifiers`). `broadcast` sends to each
 * notifier concurrently and resolves with every result, in configuration order; it never rejects.
 * With no notifier configured it resolves with an empty list.
 */
export interface NotifierSet {
  readonly notifiers: readonly Notifier[];
  broadcast(notification: Notification): Promise<{ name: string; result: DeliveryResult }[]>;
  states(): NotifierState[];
}
