/**
 * What each rule makes of the signals: pure functions from measured numbers (signals.ts gathers
 * them) to the conditions that hold now. `null` means the rule cannot tell this time.
 */
import type { EpochMs } from '../core/types.js';
import type { AlertRulesConfig, RuleName } from './config.js';
import type { Observation, RuleObservations } from './types.js';

export interface Signals {
  /** Items received and quarantined + rejected during the last `windowMs` (accounting deltas). */
  errorRate: { received: number; errors: number; windowMs: number } | null;
  /** Age of the oldest spool record not yet written (0 when the spool is empty). */
  lagMs: number | null;
  /** Registered sensors with an expected interval. */
  /** lastSeenAt: newest arrival (server clock); firstSeenAt: oldest reading time within the lookback. */
  sensors: { sensorId: string; expectedIntervalS: number; lastSeenAt: EpochMs | null; samplesInWindow: number; firstSeenAt: EpochMs | null }[] | null;
  /** The latest finished run of each job within the lookback. */
  jobs: { job: string; status: 'ok' | 'failed'; finishedAt: EpochMs; error: string | null }[] | null;
  /** POST /v1/sql durations: p95 of the recent window and of the baseline period. */
  queryLatency: { recentP95Ms: number | null; recentCount: number; baselineP95Ms: number | null; baselineCount: number } | null;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)} %`;
function dur(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export function observe(signals: Signals, rules: AlertRulesConfig, now: EpochMs): Record<RuleName, RuleObservations> {
  return {
    error_rate: errorRate(signals, rules.error_rate),
    pipeline_lag: pipelineLag(signals, rules.pipeline_lag),
    sensor_silent: sensorSilent(signals, rules.sensor_silent, now),
    completeness: completeness(signals, rules.completeness, rules.sensor_silent, now),
    job_failed: jobFailed(signals),
    query_latency: queryLatency(signals, rules.query_latency),
  };
}

function errorRate(s: Signals, cfg: AlertRulesConfig['error_rate']): RuleObservations {
  const e = s.errorRate;
  if (!e) return null;
  if (e.received < Math.max(1, cfg.minItems)) return [];
  const rate = e.errors / e.received;
  if (rate <= cfg.threshold) return [];
  return [
    {
      labels: {},
      value: rate,
      threshold: cfg.threshold,
      summary: `error rate ${pct(rate)} (> ${pct(cfg.threshold)}): ${e.errors} of ${e.received} items quarantined or rejected in the last ${dur(e.windowMs)}`,
    },
  ];
}

function pipelineLag(s: Signals, cfg: AlertRulesConfig['pipeline_lag']): RuleObservations {
  if (s.lagMs === null) return null;
  if (s.lagMs <= cfg.thresholdS * 1000) return [];
  return [
    {
      labels: {},
      value: s.lagMs / 1000,
      threshold: cfg.thresholdS,
      summary: `pipeline lag ${dur(s.lagMs)} (> ${dur(cfg.thresholdS * 1000)}): the oldest spool record is not yet in the warehouse and lake; check the writer and sink errors`,
    },
  ];
}

function isSilent(x: NonNullable<Signals['sensors']>[number], k: number, now: EpochMs): boolean {
  return x.lastSeenAt === null || now - x.lastSeenAt > k * x.expectedIntervalS * 1000;
}

function sensorSilent(s: Signals, cfg: AlertRulesConfig['sensor_silent'], now: EpochMs): RuleObservations {
  if (!s.sensors) return null;
  return s.sensors
    .filter((x) => isSilent(x, cfg.k, now))
    .map((x) => ({
      labels: { sensor_id: x.sensorId },
      value: x.lastSeenAt === null ? null : (now - x.lastSeenAt) / 1000,
      threshold: cfg.k * x.expectedIntervalS,
      summary:
        x.lastSeenAt === null
          ? `sensor ${x.sensorId} sent nothing within the last ${dur(cfg.lookbackS * 1000)} (expected every ${x.expectedIntervalS} s)`
          : `sensor ${x.sensorId} silent for ${dur(now - x.lastSeenAt)} (> ${cfg.k} × its ${x.expectedIntervalS} s interval)`,
    }));
}

function completeness(
  s: Signals,
  cfg: AlertRulesConfig['completeness'],
  silent: AlertRulesConfig['sensor_silent'],
  now: EpochMs,
): RuleObservations {
  if (!s.sensors) return null;
  const out: Observation[] = [];
  for (const x of s.sensors) {
    // A silent sensor is sensor_silent's alert; one that started inside the window has not had the chance.
    if (isSilent(x, silent.k, now) || x.firstSeenAt === null || x.firstSeenAt > now - cfg.windowS * 1000) continue;
    const expected = Math.floor(cfg.windowS / x.expectedIntervalS);
    if (expected < 1) continue;
    const c = Math.min(1, x.samplesInWindow / expected);
    if (c >= cfg.threshold) continue;
    out.push({
      labels: { sensor_id: x.sensorId },
      value: c,
      threshold: cfg.threshold,
      summary: `sensor ${x.sensorId} completeness ${pct(c)} (< ${pct(cfg.threshold)}): ${x.samplesInWindow} of ${expected} expected samples in the last ${dur(cfg.windowS * 1000)}`,
    });
  }
  return out;
}

function jobFailed(s: Signals): RuleObservations {
  if (!s.jobs) return null;
  return s.jobs
    .filter((j) => j.status === 'failed')
    .map((j) => ({
      labels: { job: j.job },
      value: null,
      threshold: null,
      summary: `job ${j.job} failed at ${new Date(j.finishedAt).toISOString()}: ${j.error ?? 'no error text'} (see sensorpipe jobs history --job ${j.job})`,
    }));
}

function queryLatency(s: Signals, cfg: AlertRulesConfig['query_latency']): RuleObservations {
  const q = s.queryLatency;
  if (!q) return null;
  const baseline = cfg.baselineMs ?? (q.baselineCount >= cfg.minSamples ? q.baselineP95Ms : null);
  if (baseline === null || q.recentP95Ms === null || q.recentCount < cfg.minSamples) return null;
  const limit = cfg.factor * baseline;
  if (q.recentP95Ms <= limit) return [];
  return [
    {
      labels: {},
      value: q.recentP95Ms,
      threshold: limit,
      summary: `POST /v1/sql p95 ${Math.round(q.recentP95Ms)} ms over the last ${dur(cfg.windowS * 1000)} (> ${cfg.factor} × baseline ${Math.round(baseline)} ms, ${q.recentCount} queries)`,
    },
  ];
}
