/**
 * The `quality` section of the configuration (docs/quality.md explains every setting and why its
 * default is what it is). Every field has a default, so `quality: {}` (or no section) is valid.
 * Rule expressions are parsed here, so `sensorpipe config check` reports a bad rule with its path.
 */
import { z } from 'zod';
import { isValidId } from '../core/ids.js';
import { parseRule } from './rules.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ratio = z.number().min(0).max(1);
const positive = z.number().positive();
const metricLimits = z.record(z.string(), z.number().positive());

const groupSchema = z
  .object({
    /** Shown in the detail of findings. */
    name: z.string().min(1),
    /** Sensor ids of the group (at least 3 present in a window are needed to name a departing member). */
    sensors: z.array(z.string()).min(2),
    /** Metrics compared; default: every metric at least `minMembers` members report. */
    metrics: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    for (const [i, s] of [...g.sensors, ...(g.metrics ?? [])].entries()) {
      if (!isValidId(s)) ctx.addIssue({ code: 'custom', message: `not a valid sensor or metric id: ${JSON.stringify(s)}`, path: [i < g.sensors.length ? 'sensors' : 'metrics'] });
    }
  });

const ruleSchema = z
  .object({
    /** `metric op metric|number`, op one of <= < >= > (e.g. `dew_point <= temperature`). */
    expr: z.string(),
    /** `sensor`: metrics of one sensor at the same timestamp; `location`: per-time-bucket medians of the metrics over the sensors of one location. */
    scope: z.enum(['sensor', 'location']).default('sensor'),
    /** Slack in the metrics' unit: `a <= b` is violated only when a > b + tolerance. */
    tolerance: z.number().nonnegative().default(0),
  })
  .strict()
  .superRefine((r, ctx) => {
    const parsed = parseRule(r.expr);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error, path: ['expr'] });
  });

export const qualityConfigSchema = z
  .object({
    /** When false, qualityJobs() returns no jobs. */
    enabled: z.boolean().default(true),
    /** Length of one quality window (ms). Default 1 h; use 1 day for sensors reporting hourly or slower. */
    windowMs: z.number().int().positive().default(HOUR),
    completeness: z
      .object({
        /** Below this fraction of the expected count: warning. */
        warnBelow: ratio.default(0.9),
        /** Below this fraction: critical. */
        criticalBelow: ratio.default(0.5),
        /** Above this fraction: info (the declared interval is probably wrong). */
        infoAbove: z.number().min(1).default(1.5),
        /** Silent: no reading for longer than this many declared intervals. */
        silentIntervals: z.number().min(1).default(5),
        /** How far back to look for the last reading before the window (ms). */
        lookbackMs: z.number().int().positive().default(7 * DAY),
      })
      .strict()
      .prefault({}),
    spike: z
      .object({
        /** Hampel half-window: readings on each side of the one tested (window = 2h+1). */
        halfWindow: z.number().int().min(1).max(50).default(3),
        /** Robust sigmas from the rolling median for a warning (Hampel's t; 3 ~ 3 sigma). */
        k: positive.default(3),
        /** Robust sigmas for critical. */
        criticalK: positive.default(6),
      })
      .strict()
      .prefault({}),
    stuck: z
      .object({
        /** Never flag a run shorter than this many identical readings. */
        minRun: z.number().int().min(2).default(5),
        /** Flag a run longer than `factor` x the longest natural run in the history (at non-resting values). */
        factor: z.number().min(1).default(2),
        /** History used to learn the natural run lengths and the resting values (ms). */
        historyMs: z.number().int().positive().default(7 * DAY),
        /** Less history than this: the pair is not checked (ms). */
        minHistoryMs: z.number().int().positive().default(DAY),
        /** A value held for at least this share of the history is a resting value (off, floor, saturation): runs at it are not faults. */
        restingShare: ratio.default(0.2),
        /** Two readings count as identical when they differ by at most this much. */
        tolerance: z.number().nonnegative().default(0),
      })
      .strict()
      .prefault({}),
    rateOfChange: z
      .object({
        /** Largest plausible |change| per second, by metric name. Metrics not listed are not checked. */
        maxRatePerS: metricLimits.default({ temperature: 0.1, humidity: 0.5 }),
        /** critical above this multiple of the limit. */
        criticalFactor: z.number().min(1).default(2),
      })
      .strict()
      .prefault({}),
    drift: z
      .object({
        /** The recent period whose median is compared, ending at the window end (ms). */
        recentMs: z.number().int().positive().default(DAY),
        /** The baseline period, ending baselineGapMs before the recent one (ms). */
        baselineMs: z.number().int().positive().default(7 * DAY),
        /**
         * Time between the baseline's end and the recent period's start (ms): a drift that began
         * shortly before the recent period is compared with a baseline it has not reached yet.
         */
        baselineGapMs: z.number().int().nonnegative().default(DAY),
        /** Less baseline than this (first baseline reading to baseline end): not checked (ms). */
        minBaselineMs: z.number().int().positive().default(3 * DAY),
        /** Robust z of (recent median - baseline median) / (1.4826 MAD of the baseline) for a warning. */
        k: positive.default(3),
        criticalK: positive.default(6),
      })
      .strict()
      .prefault({}),
    group: z
      .object({
        /** Also compare sensors sharing a location, per metric. */
        byLocation: z.boolean().default(true),
        groups: z.array(groupSchema).default([]),
        /** Fewer members reporting in a window than this: no comparison. */
        minMembers: z.number().int().min(3).default(3),
        /** Tolerance in pooled robust sigmas of the members' deviations from the group median. */
        k: positive.default(3),
        criticalK: positive.default(6),
        /** Absolute floor of the tolerance, by metric name, in the metric's unit. */
        absTolerance: metricLimits.default({}),
      })
      .strict()
      .prefault({}),
    rules: z
      .object({
        list: z.array(ruleSchema).default([]),
        /** critical when at least this share of the checked timestamps violate the rule. */
        criticalShare: ratio.default(0.1),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        /** Quarantined / (quarantined + stored) per sensor, by received_at. */
        quarantineWarn: ratio.default(0.01),
        quarantineCritical: ratio.default(0.1),
        /** Duplicates / accepted per source (ingest_counts). */
        duplicateWarn: ratio.default(0.05),
        duplicateCritical: ratio.default(0.5),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.completeness.criticalBelow > q.completeness.warnBelow) ctx.addIssue({ code: 'custom', message: 'criticalBelow must not exceed warnBelow', path: ['completeness', 'criticalBelow'] });
    if (q.ingest.quarantineCritical < q.ingest.quarantineWarn) ctx.addIssue({ code: 'custom', message: 'quarantineCritical must not be below quarantineWarn', path: ['ingest', 'quarantineCritical'] });
    if (q.ingest.duplicateCritical < q.ingest.duplicateWarn) ctx.addIssue({ code: 'custom', message: 'duplicateCritical must not be below duplicateWarn', path: ['ingest', 'duplicateCritical'] });
    for (const key of ['spike', 'drift', 'group'] as const) {
      if (q[key].criticalK < q[key].k) ctx.addIssue({ code: 'custom', message: 'criticalK must not be below k', path: [key, 'criticalK'] });
    }
  });

export type QualityConfig = z.infer<typeof qualityConfigSchema>;

/** The defaults, for code and tests that build jobs without a full configuration. */
export function defaultQualityConfig(over: Record<string, unknown> = {}): QualityConfig {
  return qualityConfigSchema.parse(over);
}
