/**
 * The weekly data-quality digest (docs/digest.md): per sensor completeness, quarantine by reason,
 * outliers and quality findings, the ranked problems and the change against the previous week,
 * written as HTML, Markdown and JSON under `<lake>/reports/digest/<YYYY-Www>/` and announced
 * through the notifiers.
 *
 *   iso-week.ts        ISO week names and bounds
 *   week-stats.ts      one week measured in the warehouse (SQL through Warehouse.query)
 *   problems.ts        ranked problems with what to do (pure)
 *   digest.ts          the digest document (pure; digest.json)
 *   render-*.ts        HTML (inline CSS and SVG sparklines) and Markdown
 *   generate.ts        compute + write the three files atomically
 *   announce.ts        the Notification
 *   digest-job.ts      the scheduled job (jobs.digest)
 */
import type { Config } from '../../config/schema.js';
import type { NotifierSet } from '../../core/notify.js';
import type { JobEntry } from '../../jobs/types.js';
import { dataPaths } from '../../runtime/paths.js';
import { digestJob } from './digest-job.js';
import type { DigestThresholds } from './problems.js';

export { computeDigest, writeDigest, digestFiles, type DigestFiles } from './generate.js';
export { digestJob, DIGEST_JOB } from './digest-job.js';
export { isoWeekOf, parseIsoWeek, lastCompleteWeek, type IsoWeek } from './iso-week.js';
export { headlineSentence } from './headline.js';
export type { Digest } from './digest.js';
export type { DigestThresholds, Problem } from './problems.js';

/** The digest's thresholds are the quality checks' own, so both agree on what is a problem. */
export function digestThresholds(config: Pick<Config, 'quality'>): DigestThresholds {
  const c = config.quality.completeness;
  const i = config.quality.ingest;
  return {
    warnBelow: c.warnBelow,
    criticalBelow: c.criticalBelow,
    infoAbove: c.infoAbove,
    silentIntervals: c.silentIntervals,
    quarantineWarn: i.quarantineWarn,
    quarantineCritical: i.quarantineCritical,
  };
}

/** The digest job with its settings from `jobs.digest`. */
export function digestJobs(config: Config, deps: { notifiers?: NotifierSet | null } = {}): JobEntry[] {
  const d = config.jobs.digest;
  return [
    {
      job: digestJob({
        lakeDir: dataPaths(config.dataDir).lake,
        thresholds: digestThresholds(config),
        graceMs: d.graceS * 1000,
        reportUrl: d.reportUrl,
        notifiers: deps.notifiers ?? null,
      }),
      settings: { enabled: d.enabled, schedule: d.schedule, graceMs: d.graceS * 1000, maxCatchupWindows: d.maxCatchupWindows },
    },
  ];
}
