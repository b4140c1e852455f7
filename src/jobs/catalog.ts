/**
 * Every job Sensorpipe knows, built from the `jobs` section of the config, in the order a
 * scheduler tick runs them (resample before the rollups that read its output). A new job adds its
 * settings to config/schema.ts (`jobs.<name>`) and one entry here, or comes in through `extra`
 * (run after the aggregates, before retention): any core `Job` is a valid ScheduledJob.
 */
import type { Config } from '../config/schema.js';
import type { Level } from './aggregate.js';
import { LakeArchiveJob, LakeCompactJob } from './lake-jobs.js';
import { resampleJob } from './resample.js';
import { RetentionJob } from './retention.js';
import { rollup1dJob, rollup1hJob } from './rollup.js';
import type { JobEntry, JobSettings } from './types.js';
import { qualityJobs } from '../quality/index.js';
import type { NotifierSet } from '../core/notify.js';
import { digestJobs } from '../monitoring/digest/index.js';

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

/** The lake's maintenance jobs: compaction, then archiving (docs/lake.md). */
export function lakeJobs(config: Config): JobEntry[] {
  const { lake, jobs } = config;
  const graceMs = lake.replacedFileGraceS * 1000;
  const c = jobs.lake_compact;
  return [
    { job: new LakeCompactJob({ minFiles: c.minFiles, smallFileBytes: c.smallFileBytes, zstdLevel: lake.zstdLevel, graceMs }), settings: settings(c) },
    { job: new LakeArchiveJob({ afterDays: lake.archive.afterDays, zstdLevel: lake.archive.zstdLevel, graceMs }), settings: settings(jobs.lake_archive) },
  ];
}

/** Every job of a configuration (`deps.notifiers`: where the digest is announced): the aggregates, the data-quality checks, the lake jobs, retention. */
export function allJobs(config: Config, deps: { notifiers?: NotifierSet | null } = {}): JobEntry[] {
  const quality = config.jobs.quality.enabled ? qualityJobs(config).map((job) => ({ job, settings: settings(config.jobs.quality) })) : [];
  return buildJobs(config.jobs, [...quality, ...lakeJobs(config), ...digestJobs(config, deps)]);
}
