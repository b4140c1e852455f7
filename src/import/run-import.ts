/**
 * Streams files through the mapping into import batches (docs/import.md). Memory stays bounded by
 * one batch: rows are parsed as the file is read, and the next batch is built only after the sink
 * stored the previous one (backpressure from the spool or the server reaches the file reader).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { metricColumns, type Mapping } from './mapping.js';
import { RowMapper, type RowOutcome } from './rows.js';
import type { ImportSink } from './sinks.js';
import type { Progress } from './progress.js';

export interface ImportInput {
  /** Name used in details and the report (the file's base name, or `stdin`). */
  label: string;
  path: string | null;
  size: number | null;
}

const IMPORTABLE = new Set(['.csv', '.tsv', '.txt', '.ndjson', '.jsonl']);

/** `-` is stdin; a directory means its importable files (by extension, sorted by name). */
export function resolveInputs(arg: string): ImportInput[] {
  if (arg === '-') return [{ label: 'stdin', path: null, size: null }];
  const st = statSync(arg);
  if (!st.isDirectory()) return [{ label: basename(arg), path: arg, size: st.size }];
  return readdirSync(arg)
    .filter((f) => !f.startsWith('.') && IMPORTABLE.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => ({ label: f, path: join(arg, f), size: statSync(join(arg, f)).size }));
}

export interface ImportReport {
  mode: 'local' | 'server';
  files: string[];
  /** Data rows read (the header not counted). */
  rows: number;
  blankRows: number;
  /** Rows whose every metric was a missing marker: nothing to store. */
  allMissingRows: number;
  missingValues: number;
  readingsAccepted: number;
  quarantined: number;
  quarantinedByReason: Record<string, number>;
  /** Growth of the readings table (local mode); accepted minus this are duplicates of stored readings. */
  newReadings: number | null;
  /** Units from the mapping recorded in the registry where it had none (local mode). */
  unitsSet: number;
  batches: number;
}

export interface ImportOptions {
  batchRows?: number;
  batchBytes?: number;
  progress: Progress;
}

function formatOf(m: Mapping, input: ImportInput): 'csv' | 'tsv' | 'ndjson' {
  if (m.format) return m.format;
  const ext = extname(input.label).toLowerCase();
  return ext === '.tsv' ? 'tsv' : ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : 'csv';
}

/** Imports every input in order; throws on a setup problem (missing column) or an infrastructure fault. */
export async function runImport(inputs: ImportInput[], m: Mapping, sink: ImportSink, opts: ImportOptions): Promise<ImportReport> {
  const batchRows = opts.batchRows ?? 2000;
  const batchBytes = opts.batchBytes ?? 192 * 1024;
  const report: ImportReport = {
    mode: sink.mode,
    files: inputs.map((i) => i.label),
    rows: 0,
    blankRows: 0,
    allMissingRows: 0,
    missingValues: 0,
    readingsAccepted: 0,
    quarantined: 0,
    quarantinedByReason: {},
    newReadings: null,
    unitsSet: 0,
    batches: 0,
  };
  const sensors = new Set<string>();
  const before = await sink.readingsCount();
  const total = inputs.every((i) => i.size !== null) ? inputs.reduce((n, i) => n + (i.size ?? 0), 0) : null;
  let doneBytes = 0;
  let lines: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (lines.length === 0) return;
    const r = await sink.send(Buffer.from(lines.join('\n') + '\n', 'utf8'));
    lines = [];
    bytes = 0;
    report.batches++;
    report.readingsAccepted += r.accepted;
    report.quarantined += r.quarantined;
    for (const [k, n] of Object.entries(r.reasons)) report.quarantinedByReason[k] = (report.quarantinedByReason[k] ?? 0) + n;
  };
  const take = async (o: RowOutcome) => {
    report.rows++;
    if (o.kind === 'blank') {
      report.blankRows++;
      return;
    }
    report.missingValues += o.missing;
    if (o.kind === 'all_missing') {
      report.allMissingRows++;
      return;
    }
    if ('record' in o.entry && sensors.size < 100_000) sensors.add(o.entry.record.sensor_id);
    const text = JSON.stringify(o.entry);
    lines.push(text);
    bytes += text.length + 1;
    if (lines.length >= batchRows || bytes >= batchBytes) await flush();
  };

  opts.progress.start(total);
  try {
    for (const input of inputs) {
      const stream: Readable = input.path === null ? process.stdin : createReadStream(input.path);
      const onBytes = (n: number) => opts.progress.update(doneBytes + n, report.rows);
      const format = formatOf(m, input);
      if (format === 'ndjson') await readNdjson(stream, m, input, take, onBytes);
      else await readDelimited(stream, m, input, format, take, onBytes);
      await flush();
      doneBytes += input.size ?? 0;
    }
  } finally {
    opts.progress.stop();
  }
  const after = await sink.readingsCount();
  report.newReadings = before === null || after === null ? null : after - before;
  const units = Object.fromEntries(metricColumns(m).filter((c) => c.unit !== null).map((c) => [c.metric, c.unit as string]));
  report.unitsSet = await sink.fillUnits(sensors, units);
  return report;
}

async function readDelimited(
  stream: Readable,
  m: Mapping,
  input: ImportInput,
  format: 'csv' | 'tsv',
  take: (o: RowOutcome) => Promise<void>,
  onBytes: (n: number) => void,
): Promise<void> {
  const delimiter = m.delimiter ?? (format === 'tsv' ? '\t' : ',');
  const parser = stream.pipe(
    parse({ delimiter, quote: m.quote, encoding: m.encoding, bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true, raw: true }),
  );
  let mapper: RowMapper | null = null;
  if (!m.header.present) mapper = new RowMapper(m, [...m.header.unnamedLeading, ...m.header.columns!], input.label);
  for await (const r of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number }; raw: string }>) {
    if (mapper === null) {
      mapper = new RowMapper(m, [...m.header.unnamedLeading, ...r.record], input.label);
      continue;
    }
    await take(mapper.fromFields(r.record, r.info.lines, r.raw.replace(/\r?\n$/, '')));
    onBytes(r.info.bytes);
  }
}

async function readNdjson(
  stream: Readable,
  m: Mapping,
  input: ImportInput,
  take: (o: RowOutcome) => Promise<void>,
  onBytes: (n: number) => void,
): Promise<void> {
  stream.setEncoding(m.encoding);
  const columns = Object.keys({ ...Object.fromEntries(m.timestamp.columns.map((c) => [c, 1])), ...('column' in m.sensor ? { [m.sensor.column]: 1 } : {}), ...m.metrics });
  const mapper = new RowMapper(m, columns, input.label);
  let line = 0;
  let seen = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line++;
    seen += Buffer.byteLength(text) + 1;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) {
      await take(mapper.fromJsonLine(text.slice(1), line));
    } else if (text.trim() !== '') {
      await take(mapper.fromJsonLine(text, line));
    }
    onBytes(seen);
  }
}
