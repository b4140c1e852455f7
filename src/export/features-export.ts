/**
 * `sensorpipe export features` and GET /v1/export/features: the wide feature table of
 * ./features.ts written as Parquet or CSV, plus a manifest JSON next to it (docs/export.md).
 */
import { createHash } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { buildFeatures, featureColumns, sourceWindow, type FeatureSpec, type FeatureStats, type QualityWindow } from './features.js';
import { checkIds, readingPages, tsLiteral, type SqlRunner } from './readings-pages.js';
import { openTableFile, type ExportColumn, type ExportFormat } from './table-file.js';

/** Most grid rows one export may have (a guard against a 1m grid over years by mistake). */
export const MAX_FEATURE_ROWS = 5_000_000;

export class FeatureSpecError extends Error {}

/** Checks what a caller asked for; throws FeatureSpecError naming the fix. */
export function checkSpec(spec: FeatureSpec): void {
  if (spec.sensors.length === 0 || spec.metrics.length === 0) throw new FeatureSpecError('name at least one sensor (--sensors) and one metric (--metrics)');
  if (!(spec.from < spec.to)) throw new FeatureSpecError('from must be before to');
  if (!(spec.maxGapMs >= 0)) throw new FeatureSpecError('max gap must be a duration like 90s, 5m, 2h or 1d');
  const rows = Math.ceil((spec.to - spec.from) / spec.resolutionMs);
  if (rows > MAX_FEATURE_ROWS) {
    throw new FeatureSpecError(`the grid would have ${rows} rows (more than ${MAX_FEATURE_ROWS}); use a coarser resolution or a shorter range`);
  }
}

export function featureSchema(spec: FeatureSpec): (ExportColumn & { description: string })[] {
  const out: (ExportColumn & { description: string })[] = [{ name: 'ts', type: 'TIMESTAMP', description: 'grid time, UTC; the row uses readings with ts <= this time' + (spec.fill === 'linear' ? ' (and, for linear, the next reading after it)' : '') }];
  for (const c of featureColumns(spec)) {
    out.push({ name: c.name, type: 'DOUBLE', description: `${c.metric} of sensor ${c.sensor} (fill ${spec.fill})` });
    out.push({ name: `${c.name}__flag`, type: 'VARCHAR', description: 'observed | filled | interpolated | missing' });
    out.push({ name: `${c.name}__gap_s`, type: 'DOUBLE', description: 'seconds since the last reading at or before ts (null: none in the source window)' });
    out.push({ name: `${c.name}__quality`, type: 'VARCHAR', description: 'highest severity of quality findings whose window contains ts (info | warning | critical), null when none; describes the data, written after the window closed' });
  }
  return out;
}

export interface FeatureManifest {
  dataset: 'sensorpipe.features';
  version: 1;
  createdAt: string;
  parameters: { sensors: string[]; metrics: string[]; from: string; to: string; resolution: string; fill: string; maxGap: string };
  pointInTimeCorrect: boolean;
  semantics: string;
  sourceWindows: { table: 'readings' | 'quality_results'; from: string; to: string }[];
  rowCounts: { rows: number; readingsRead: number; qualityFindings: number };
  schema: { name: string; type: string; description: string }[];
  lineage: { source: string; origin: string; filter: string; tool: string };
  quality: FeatureStats['perColumn'];
  file: { path: string; format: ExportFormat; bytes: number; sha256: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Writes the table to `out` and the manifest to `<out>.manifest.json`; returns the manifest. */
export async function exportFeatures(
  run: SqlRunner,
  spec: FeatureSpec,
  opts: { format: ExportFormat; out: string; origin: string; labels: { resolution: string; maxGap: string }; now: number; onRows?: (n: number) => void },
): Promise<FeatureManifest> {
  checkSpec(spec);
  const schema = featureSchema(spec);
  const file = await openTableFile(opts.out, opts.format, schema);
  const win = sourceWindow(spec);
  const filter = { from: win.from, to: win.to, sensors: spec.sensors, metrics: spec.metrics };
  let stats: FeatureStats;
  let written = 0;
  let findings = 0;
  try {
    const quality = await qualityWindows(run, spec);
    for (const w of quality.values()) findings += w.length;
    stats = await buildFeatures(
      spec,
      readingPages(run, filter),
      async (rows) => {
        await file.append(opts.format === 'csv' ? rows.map((r) => ({ ...r, ts: iso(r.ts as number) })) : rows);
        written += rows.length;
        opts.onRows?.(written);
      },
      5000,
      quality,
    );
  } catch (err) {
    await file.abort();
    throw err;
  }
  const done = await file.close();
  const manifest: FeatureManifest = {
    dataset: 'sensorpipe.features',
    version: 1,
    createdAt: iso(opts.now),
    parameters: { sensors: spec.sensors, metrics: spec.metrics, from: iso(spec.from), to: iso(spec.to), resolution: opts.labels.resolution, fill: spec.fill, maxGap: opts.labels.maxGap },
    pointInTimeCorrect: spec.fill !== 'linear',
    semantics:
      spec.fill === 'linear'
        ? 'row at ts: value interpolated between the last reading at or before ts and the next one after it (at most maxGap apart); uses a reading after ts, so not point-in-time correct'
        : spec.fill === 'ffill'
          ? 'row at ts: the last reading with reading time <= ts, if at most maxGap old; only readings at or before ts are used'
          : 'row at ts: the last reading in (ts - resolution, ts]; only readings at or before ts are used',
    sourceWindows: [
      { table: 'readings', from: iso(win.from), to: iso(win.to) },
      { table: 'quality_results', from: iso(spec.from), to: iso(spec.to) },
    ],
    rowCounts: { rows: stats.rows, readingsRead: stats.readingsRead, qualityFindings: findings },
    schema: schema.map((c) => ({ name: c.name, type: c.type, description: c.description })),
    lineage: { source: 'warehouse table readings (validated, deduplicated: one row per sensor, metric and time)', origin: opts.origin, filter: `ts >= ${iso(win.from)} AND ts < ${iso(win.to)}`, tool: 'sensorpipe export features' },
    quality: stats.perColumn,
    file: { path: opts.out, format: opts.format, bytes: done.bytes, sha256: await sha256(opts.out) },
  };
  writeFileSync(`${opts.out}.manifest.json`, JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Quality findings overlapping the grid, per `<sensor>__<metric>`; none when the table is missing or empty. */
async function qualityWindows(run: SqlRunner, spec: FeatureSpec): Promise<Map<string, QualityWindow[]>> {
  checkIds('sensor', spec.sensors);
  checkIds('metric', spec.metrics);
  const lit = (s: string) => `'${s}'`;
  const out = new Map<string, QualityWindow[]>();
  const exists = await run("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'quality_results'");
  if (Number(exists.rows[0]?.n ?? 0) === 0) return out;
  const sql =
    `SELECT sensor_id, metric, window_start, window_end, severity FROM quality_results ` +
    `WHERE sensor_id IN (${spec.sensors.map(lit).join(', ')}) AND metric IN (${spec.metrics.map(lit).join(', ')}) ` +
    `AND window_end > ${tsLiteral(spec.from)} AND window_start < ${tsLiteral(spec.to)} AND severity IN ('info', 'warning', 'critical') ` +
    `ORDER BY window_start LIMIT 1000000`;
  for (const r of (await run(sql)).rows) {
    const key = `${String(r.sensor_id)}__${String(r.metric)}`;
    const list = out.get(key) ?? [];
    list.push({ start: Date.parse(isoZ(r.window_start)), end: Date.parse(isoZ(r.window_end)), severity: r.severity as QualityWindow['severity'] });
    out.set(key, list);
  }
  return out;
}

function isoZ(v: unknown): string {
  const s = v instanceof Date ? v.toISOString() : String(v);
  return /[zZ]$|[+-]\d\d:?\d\d$/.test(s) ? s : s.replace(' ', 'T') + 'Z';
}
