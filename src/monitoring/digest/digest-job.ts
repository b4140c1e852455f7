/**
 * The weekly digest as a scheduled job (`jobs.digest`, by default Mondays 06:00 UTC).
 *
 * Windows are days (ISO weeks start on Mondays, and the scheduler aligns windows to the epoch, a
 * Thursday); the digest of a week is made on the window of its last day, Sunday, and other days
 * are recorded as skipped. `readyUntil` holds the scheduler at the start of the current week, so
 * with `catchUp: latest` a firing runs exactly the Sunday of the week that just ended, once.
 * A manual run (`sensorpipe jobs run digest --from 2015-02-15 --to 2015-02-16`, or
 * `sensorpipe report digest --week 2015-W07`) makes the digest of that week again.
 *
 * Idempotent: the files of the week are replaced. After writing, the digest is announced through
 * the notifiers (when any are configured); a failed announcement is reported in the run's detail
 * and does not fail the run (the files are there; the notifier shows its own failure).
 */
import type { JobContext, JobResult, TimeWindow } from '../../core/jobs.js';
import type { Notification, NotifierSet } from '../../core/notify.js';
import type { ScheduledJob } from '../../jobs/types.js';
import { announceDigest, digestNotification } from './announce.js';
import { computeDigest, writeDigest } from './generate.js';
import { headlineSentence } from './headline.js';
import { isoWeekOf, weekStartOf } from './iso-week.js';
import type { DigestThresholds } from './problems.js';

const DAY = 86_400_000;

export interface DigestJobOptions {
  /** The lake root; files go to `<lakeDir>/reports/digest/<week>/`. */
  lakeDir: string;
  thresholds: DigestThresholds;
  /** The job's watermark grace (ms): the week is over once now - grace is past its end. */
  graceMs: number;
  /** Base URL where `<lake>/reports/digest` is served, for the link in the announcement; null: the file path is given. */
  reportUrl: string | null;
  /** Where to announce; null or empty: not announced. */
  notifiers?: NotifierSet | null;
  /** Seam for other announcement channels (and tests): called after the files are written. */
  announce?: (n: Notification) => Promise<unknown>;
}

export const DIGEST_JOB = 'digest';

export function digestJob(o: DigestJobOptions): ScheduledJob {
  return {
    name: DIGEST_JOB,
    description: 'weekly data-quality digest (HTML, Markdown, JSON under lake/reports/digest), announced through the notifiers',
    windowMs: DAY,
    catchUp: 'latest',
    async readyUntil(ctx: JobContext) {
      return weekStartOf(ctx.clock.now() - o.graceMs);
    },
    async run(window: TimeWindow, ctx: JobContext): Promise<JobResult> {
      const week = isoWeekOf(window.start);
      if (window.end !== week.end) {
        return {
          rows: 0,
          detail: {
            skipped: `the digest of week ${week.name} is made on its last day (window ${new Date(week.end - DAY).toISOString().slice(0, 10)}); ` +
              `make it now with: sensorpipe report digest --week ${week.name}`,
          },
        };
      }
      const now = ctx.clock.now();
      const digest = await computeDigest(ctx.warehouse, week, now, o.thresholds);
      const headline = headlineSentence(digest);
      if (ctx.dryRun) return { rows: digest.sensors.length, detail: { week: week.name, headline, problems: digest.problemCount, dryRun: true } };
      const files = await writeDigest(o.lakeDir, digest);
      const notification = digestNotification(digest, files, now, o.reportUrl);
      let announced: unknown = 'no notifier configured';
      if (o.notifiers && o.notifiers.notifiers.length > 0) announced = await announceDigest(o.notifiers, notification);
      if (o.announce) {
        try {
          await o.announce(notification);
        } catch (err) {
          ctx.logger.warn({ err, week: week.name }, 'the digest was written but announcing it failed; the files are in place');
        }
      }
      ctx.logger.info({ week: week.name, html: files.html }, `digest for week ${week.name} ready: ${headline}`);
      return {
        rows: digest.sensors.length,
        detail: { week: week.name, headline, problems: digest.problemCount, files: { html: files.html, md: files.md, json: files.json }, announced },
      };
    },
  };
}
