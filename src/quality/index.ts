/**
 * Data-quality checks (docs/quality.md): one Job per check family, each over one closed window and
 * idempotent (it replaces its own rows of `quality_results` for that window).
 *
 *   quality.completeness      completeness, silent
 *   quality.spike             spike            (Hampel: rolling median / MAD)
 *   quality.stuck             stuck            (flat-lined)
 *   quality.rate_of_change    rate_of_change   (quality.rateOfChange.maxRatePerS)
 *   quality.drift             drift            (recent median vs the pair's own baseline)
 *   quality.group_consistency group_consistency
 *   quality.rules             rule
 *   quality.ingest            quarantine_rate, duplicate_rate
 */
import type { Job } from '../core/jobs.js';
import { completenessJob } from './checks/completeness.js';
import { driftJob } from './checks/drift.js';
import { groupJob } from './checks/group.js';
import { ingestJob } from './checks/ingest.js';
import { rateJob } from './checks/rate.js';
import { ruleJob } from './checks/rules.js';
import { spikeJob } from './checks/spike.js';
import { stuckJob } from './checks/stuck.js';
import type { QualityConfig } from './config.js';

export { qualityConfigSchema, defaultQualityConfig, type QualityConfig } from './config.js';
export { CHECKS, QUALITY_RESULTS_DDL, type CheckName, type QualityRow } from './store.js';
export { parseRule, type Rule } from './rules.js';

/** The quality jobs for a configuration (the whole parsed Config, or anything with its `quality` section). */
export function qualityJobs(config: { quality: QualityConfig }): Job[] {
  const q = config.quality;
  if (!q.enabled) return [];
  return [completenessJob(q), spikeJob(q), stuckJob(q), rateJob(q), driftJob(q), groupJob(q), ruleJob(q), ingestJob(q)];
}
