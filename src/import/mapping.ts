/**
 * The import mapping: how the columns of a CSV/TSV/NDJSON file become readings (docs/import.md).
 * A YAML file checked by `mappingSchema`; simple cases can be given as flags instead
 * (`mappingFromFlags`), and flags override the file. Problems are returned as operator text, never
 * thrown past `loadMapping`, which turns them into one MappingError naming every problem.
 */
import { readFileSync } from 'node:fs';
import { Info } from 'luxon';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isValidId } from '../core/ids.js';

const metricEntry = z.union([
  z.string().describe('the metric name'),
  z.strictObject({
    name: z.string().optional().describe('metric name (default: the column name)'),
    unit: z.string().optional().describe('unit, documentation only (e.g. "°C")'),
  }),
]);

export const mappingSchema = z.strictObject({
  format: z.enum(['csv', 'tsv', 'ndjson']).optional().describe('default: from the file extension (.tsv, .ndjson/.jsonl, else csv)'),
  delimiter: z.string().min(1).max(4).optional().describe('field separator (default "," for csv, tab for tsv)'),
  quote: z.string().length(1).default('"'),
  decimal: z.enum(['.', ',']).default('.').describe('decimal separator of numbers ("," for 2,6)'),
  encoding: z.enum(['utf8', 'latin1']).default('utf8'),
  header: z
    .strictObject({
      present: z.boolean().default(true).describe('the first line names the columns'),
      columns: z.array(z.string()).optional().describe('column names when present is false'),
      unnamedLeading: z
        .array(z.string())
        .default([])
        .describe('names for leading fields the header does not name (a header one column short)'),
    })
    .default({ present: true, unnamedLeading: [] }),
  timestamp: z.strictObject({
    columns: z.array(z.string()).min(1).describe('one column, or several joined with one space (date and time)'),
    format: z
      .string()
      .min(1)
      .default('iso')
      .describe('iso, epoch_s, epoch_ms, or a Luxon format such as "dd/MM/yyyy HH.mm.ss"'),
    timezone: z.string().default('UTC').describe('zone of times that carry none: UTC, +01:00, or an IANA name like Europe/Rome'),
  }),
  sensor: z.union([z.strictObject({ id: z.string() }), z.strictObject({ column: z.string() })]),
  metrics: z.record(z.string(), metricEntry).refine((m) => Object.keys(m).length > 0, 'name at least one metric column'),
  missing: z.array(z.string()).default(['']).describe('values meaning "no reading"; numeric markers also match numerically (-200 = -200,0)'),
});

export type Mapping = z.infer<typeof mappingSchema>;
export type MappingInput = z.input<typeof mappingSchema>;

/** A metric column resolved: where it comes from, what it is called. */
export interface MetricColumn {
  column: string;
  metric: string;
  unit: string | null;
}

export class MappingError extends Error {}

export function metricColumns(m: Mapping): MetricColumn[] {
  return Object.entries(m.metrics).map(([column, e]) =>
    typeof e === 'string' ? { column, metric: e, unit: null } : { column, metric: e.name ?? column, unit: e.unit ?? null },
  );
}

/** Checks a mapping tree; the problems (empty when it is valid) speak to the operator. */
export function checkMapping(tree: unknown, source: string): { mapping: Mapping | null; problems: string[] } {
  const r = mappingSchema.safeParse(tree);
  if (!r.success) {
    return { mapping: null, problems: r.error.issues.map((i) => `${source}: ${i.path.join('.') || '(top)'}: ${i.message}`) };
  }
  const m = r.data;
  const problems: string[] = [];
  if (Info.normalizeZone(zoneName(m.timestamp.timezone)) === null || !Info.normalizeZone(zoneName(m.timestamp.timezone))?.isValid) {
    problems.push(`${source}: timestamp.timezone "${m.timestamp.timezone}" is not a zone: use UTC, an offset like +01:00, or an IANA name like Europe/Rome`);
  }
  if ('id' in m.sensor && !isValidId(m.sensor.id)) problems.push(`${source}: sensor.id "${m.sensor.id}" is not a valid id (^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$)`);
  for (const c of metricColumns(m)) {
    if (!isValidId(c.metric)) problems.push(`${source}: metrics."${c.column}": the metric name "${c.metric}" is not a valid id; give it a name: (e.g. name: co_gt)`);
  }
  if (!m.header.present && !m.header.columns) problems.push(`${source}: header.present is false, so header.columns must list the column names`);
  return { mapping: problems.length ? null : m, problems };
}

/** "+01:00" / "-05:30" -> Luxon's "UTC+01:00"; anything else unchanged. */
export function zoneName(tz: string): string {
  return /^[+-]\d{1,2}(:\d{2})?$/.test(tz) ? `UTC${tz}` : tz;
}

/** The flags that describe a mapping for simple files (each overrides the file's key). */
export interface MappingFlags {
  format?: string;
  delimiter?: string;
  decimalComma?: boolean;
  encoding?: string;
  tsColumn?: string;
  tsFormat?: string;
  timezone?: string;
  sensorId?: string;
  sensorColumn?: string;
  metrics?: string;
  missing?: string;
}

/**
 * Merges flags over a mapping tree (from a file, or empty). `--metrics "T:temperature:°C,RH:humidity"`
 * is column[:name[:unit]]; `--ts-column Date,Time`; `--missing "-200,NA,"` (a trailing comma keeps the
 * empty string).
 */
export function mergeFlags(tree: Record<string, unknown>, f: MappingFlags): Record<string, unknown> {
  const out: Record<string, unknown> = { ...tree };
  if (f.format) out.format = f.format;
  if (f.delimiter) out.delimiter = f.delimiter === '\\t' || f.delimiter === 'tab' ? '\t' : f.delimiter;
  if (f.decimalComma) out.decimal = ',';
  if (f.encoding) out.encoding = f.encoding;
  if (f.tsColumn || f.tsFormat || f.timezone) {
    const ts = { ...((tree.timestamp as Record<string, unknown> | undefined) ?? {}) };
    if (f.tsColumn) ts.columns = f.tsColumn.split(',');
    if (f.tsFormat) ts.format = f.tsFormat;
    if (f.timezone) ts.timezone = f.timezone;
    out.timestamp = ts;
  }
  if (f.sensorId) out.sensor = { id: f.sensorId };
  if (f.sensorColumn) out.sensor = { column: f.sensorColumn };
  if (f.metrics) {
    const metrics: Record<string, unknown> = {};
    for (const part of f.metrics.split(',')) {
      const [column, name, unit] = part.split(':');
      if (column) metrics[column] = { ...(name ? { name } : {}), ...(unit ? { unit } : {}) };
    }
    out.metrics = metrics;
  }
  if (f.missing !== undefined) out.missing = f.missing.split(',');
  return out;
}

/** Reads the mapping file (if any), applies flags, and checks it; throws MappingError naming every problem. */
export function loadMapping(file: string | undefined, flags: MappingFlags): Mapping {
  let tree: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new MappingError(`cannot read the mapping file ${file}: ${(err as Error).message}`);
    }
    try {
      const parsed: unknown = parseYaml(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the top level must be a mapping of keys');
      tree = parsed as Record<string, unknown>;
    } catch (err) {
      throw new MappingError(`the mapping file ${file} is not valid YAML: ${(err as Error).message}`);
    }
  }
  const { mapping, problems } = checkMapping(mergeFlags(tree, flags), file ?? 'flags');
  if (!mapping) {
    throw new MappingError(
      `the import mapping is not valid:\n  ${problems.join('\n  ')}\nSee docs/import.md for the keys, or examples/mappings/ for complete mappings.`,
    );
  }
  return mapping;
}
