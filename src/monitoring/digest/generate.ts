/**
 * Generates a week's digest from the warehouse and publishes it as
 * `<lake>/reports/digest/<YYYY-Www>/digest.{json,md,html}`, each file written atomically (temp
 * file, fsync, rename): a reader sees the previous version or the new one, never a part. Running
 * it again for the same week replaces the three files.
 */
import { join } from 'node:path';
import type { Warehouse } from '../../core/sinks.js';
import type { EpochMs } from '../../core/types.js';
import { writeFileAtomic } from '../../sinks/lake/atomic-file.js';
import { buildDigest, type Digest } from './digest.js';
import { previousWeek, type IsoWeek } from './iso-week.js';
import type { DigestThresholds } from './problems.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { measureWeek, type Rows } from './week-stats.js';

export interface DigestFiles {
  dir: string;
  json: string;
  md: string;
  html: string;
}

/** Where a week's digest lives under the lake root. */
export function digestFiles(lakeDir: string, week: string): DigestFiles {
  const dir = join(lakeDir, 'reports', 'digest', week);
  return { dir, json: join(dir, 'digest.json'), md: join(dir, 'digest.md'), html: join(dir, 'digest.html') };
}

/** Computes the digest of `week` (measured up to `now` when the week is not over), compared with the week before. */
export async function computeDigest(warehouse: Warehouse, week: IsoWeek, now: EpochMs, thresholds: DigestThresholds, rows?: Rows): Promise<Digest> {
  const prev = previousWeek(week);
  const [current, previous] = await Promise.all([measureWeek(warehouse, week, now, { rows, gapsBelow: thresholds.warnBelow }), measureWeek(warehouse, prev, now, { rows, gapsBelow: thresholds.warnBelow })]);
  return buildDigest(current, previous, thresholds, now);
}

/** Writes the three renderings; throws only on file-system faults. */
export async function writeDigest(lakeDir: string, digest: Digest): Promise<DigestFiles> {
  const files = digestFiles(lakeDir, digest.week);
  // JSON last: a reader that waits for digest.json finds the other two complete.
  await writeFileAtomic(files.html, renderHtml(digest));
  await writeFileAtomic(files.md, renderMarkdown(digest));
  await writeFileAtomic(files.json, JSON.stringify(digest, null, 2) + '\n');
  return files;
}
