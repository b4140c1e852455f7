/**
 * The `alerts` and `notifiers` sections of the configuration (docs/alerting.md explains each rule,
 * its default and why). Every field has a default, so no section at all gives the default rules and
 * no notifier (alerts are then only visible in the API and the dashboard).
 */
import { z } from 'zod';

const severity = z.enum(['info', 'warning', 'critical']);
/** Labels an alert of the rule may carry; grouping uses a subset of them. */
const groupBy = z.array(z.enum(['rule', 'sensor_id', 'metric', 'job'])).min(1);

/** Settings every rule has. */
function ruleBase(d: { forS: number; severity: z.infer<typeof severity>; groupBy: z.infer<typeof groupBy> }) {
  return {
    enabled: z.boolean().default(true),
    /** How long the condition must hold before the alert fires (pending until then); 0 fires at once. */
    forS: z.number().nonnegative().default(d.forS),
    severity: severity.default(d.severity),
    /** One notification per group: alerts with the same values of these labels travel together. */
    groupBy: groupBy.default(d.groupBy),
  };
}

export const alertsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** How often the rules are evaluated. */
    evaluateIntervalS: z.number().positive().default(30),
    /** A group that keeps firing is notified again after this long. */
    repeatIntervalS: z.number().positive().default(4 * 3600),
    /** Resolved alerts and state changes are kept this long (GET /v1/alerts history). */
    historyDays: z.number().positive().default(30),
    /** Absolute dashboard URL put into notifications (e.g. https://sensorpipe.example.com/); none when null. */
    dashboardUrl: z.string().url().nullable().default(null),
    rules: z
      .object({
        /** Quarantined + rejected items / received items over the window, from the warehouse accounting. */
        error_rate: z
          .object({
            ...ruleBase({ forS: 120, severity: 'critical', groupBy: ['rule'] }),
            threshold: z.number().min(0).max(1).default(0.01),
            windowS: z.number().positive().default(300),
            /** Fewer received items than this in the window say nothing (one bad message of three is not 33 %). */
            minItems: z.number().int().nonnegative().default(20),
          })
          .strict()
          .prefault({}),
        /** Age of the oldest record in the spool not yet written to the sinks. */
        pipeline_lag: z
          .object({ ...ruleBase({ forS: 60, severity: 'critical', groupBy: ['rule'] }), thresholdS: z.number().positive().default(300) })
          .strict()
          .prefault({}),
        /** A registered sensor with an expected interval that sent nothing for `k` intervals. */
        sensor_silent: z
          .object({
            ...ruleBase({ forS: 0, severity: 'warning', groupBy: ['rule'] }),
            k: z.number().positive().default(10),
            /** Sensors silent longer than this are not looked up any more (they stay firing as "no reading within lookback"). */
            lookbackS: z.number().positive().default(7 * 86400),
          })
          .strict()
          .prefault({}),
        /** Distinct timestamps per sensor over the last window / what its expected interval promises. */
        completeness: z
          .object({
            ...ruleBase({ forS: 900, severity: 'warning', groupBy: ['rule'] }),
            threshold: z.number().min(0).max(1).default(0.8),
            windowS: z.number().positive().default(3600),
          })
          .strict()
          .prefault({}),
        /** The latest finished run of a job failed (resolves when a later run succeeds). */
        job_failed: z
          .object({ ...ruleBase({ forS: 0, severity: 'warning', groupBy: ['rule', 'job'] }), lookbackS: z.number().positive().default(86400) })
          .strict()
          .prefault({}),
        /** p95 of POST /v1/sql durations over the window vs. the baseline (configured, or the p95 of the previous day). */
        query_latency: z
          .object({
            ...ruleBase({ forS: 300, severity: 'warning', groupBy: ['rule'] }),
            windowS: z.number().positive().default(300),
            /** Fires when the recent p95 is above factor × baseline. */
            factor: z.number().positive().default(2),
            /** A fixed baseline p95 in ms; null learns it from the previous day of queries. */
            baselineMs: z.number().positive().nullable().default(null),
            /** Fewer queries than this (in the window, or in the learned baseline) say nothing. */
            minSamples: z.number().int().positive().default(20),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const notifierSchema = z
  .object({
    /** Shown in the API, the logs and /metrics. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'letters, digits and . _ : - only'),
    /** Payload format: generic JSON, Slack incoming webhook, Microsoft Teams (MessageCard). */
    kind: z.enum(['webhook', 'slack', 'teams']),
    /** teams only: `adaptive` (Adaptive Card; Teams Workflows accept only this) or `messagecard` (legacy connectors). */
    teamsFormat: z.enum(['adaptive', 'messagecard']).default('adaptive'),
    /** Where to POST. Treated as a secret: never shown in the API or logs (only its host). */
    url: z.string().url(),
    /** Extra request headers (e.g. Authorization for a generic webhook). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Attempts per notification, the first included; network errors, 408, 429 and 5xx are retried. */
    maxAttempts: z.number().int().min(1).max(20).default(5),
    /** Backoff before the 2nd attempt; doubled each time up to maxDelayMs. */
    initialDelayMs: z.number().int().nonnegative().default(1000),
    maxDelayMs: z.number().int().nonnegative().default(30_000),
    /** Per-attempt request time limit. */
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export const notifiersConfigSchema = z.array(notifierSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((n, i) => {
    if (seen.has(n.name)) ctx.addIssue({ code: 'custom', message: `notifier name "${n.name}" is used twice`, path: [i, 'name'] });
    seen.add(n.name);
  });
});

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type AlertRulesConfig = AlertsConfig['rules'];
export type RuleName = keyof AlertRulesConfig;
export type NotifierConfig = z.infer<typeof notifierSchema>;
