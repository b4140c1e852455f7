/**
 * Every job Sensorpipe knows, built from the `jobs` section of the config, in the order a
 * scheduler tick runs them (resample before the rollups that read its output). A new job adds its
 * settings to config/schema.ts (`jobs.<name>`) and one entry here, or comes in through `extra`
 * (run after the aggregates, before retention): any core `Job` is a valid ScheduledJob.
 */
import type { Config } from '../config/schema.js';
import type { Level } from './aggregate.js';
import { resampleJob } from './resample.js';
import { RetentionJob } from './retention.js';
import { rollup1dJob, rollup1hJob } from './rollup.js';
import type { JobEntry, JobSettings } from './types.js';
import { qualityJobs } from '../quality/index.js';

type JobsConfig = Config['jobs'];

function settings(c: { enabled: boolean; schedule: string; graceS: number; maxCatchupWindows: number }): JobSettings {
  return { enabled: c.enabled, schedule: c.schedule, graceMs: c.graceS * 1000, maxCatchupWindows: c.maxCatchupWindows };
}

export function buildJobs(jobs: JobsConfig, extra: JobEntry[] = []): JobEntry[] {
  const protectLevels: Level[] = [];
  if (jobs.resample.enabled) protectLevels.push('1m');
  if (jobs.rollup_1h.enabled) protectLevels.push('1h');
  if (jobs.rollup_1d.enabled) protectLevels.push('1d');
  return [
    { job: resampleJob(), settings: settings(jobs.resample) },
    { job: rollup1hJob(), settings: settings(jobs.rollup_1h) },
    { job: rollup1dJob(), settings: settings(jobs.rollup_1d) },
    ...extra,
    { job: new RetentionJob({ keepDays: jobs.retention.keepDays, protectLevels }), settings: settings(jobs.retention) },
  ];
}

/** Every job of a configuration: the aggregates, the data-quality checks, retention. */
export function allJobs(config: Config): JobEntry[] {
  const quality = config.jobs.quality.enabled ? qualityJobs(config).map((job) => ({ job, settings: settings(config.jobs.quality) })) : [];
  return buildJobs(config.jobs, quality);
}
