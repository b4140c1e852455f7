/**
 * Markdown tables of a storage benchmark result: the generated part of docs/performance-storage.md
 * and what the CLI prints. Every figure of the JSON that a reader compares is in a table; the JSON
 * keeps the rest (encodings per column, import reports).
 */
import type { DatasetFigures, StorageBenchResult, VariantFigures } from '../lake-storage.js';

const n = (x: number) => x.toLocaleString('en-US');
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

function stageTable(d: DatasetFigures): string[] {
  const rows = [
    '| stage | files | bytes | B/reading | ÷ 1.37 | ÷ 3 | ts + value B/reading | ts + value ÷ 1.37 | ts | value | sensor_id + metric | provenance (6 columns) | footers | job |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const stages = [
    ['written by the writer', d.stages.writer],
    ['after `lake_compact`', d.stages.compacted],
    ['after `lake_archive`', d.stages.archived],
  ] as const;
  for (const [label, s] of stages) {
    const p = s.perReading;
    const job = s.jobMs === undefined ? '–' : `${n(s.jobMs)} ms, ${s.partitionsRewritten} partitions rewritten`;
    rows.push(
      `| ${label} | ${n(s.size.files)} | ${n(s.size.bytes)} | **${f2(p.total)}** | ${f2(s.ratios.toGorilla137)} | ${f2(s.ratios.toInflux3)} | ${f3(p.tsValue)} | ${f2(s.tsValueRatios.toGorilla137)} | ${f3(p.ts)} | ${f3(p.value)} | ${f3(p.seriesKey)} | ${f3(p.provenance)} | ${f3(p.footer)} | ${job} |`,
    );
  }
  return rows;
}

function columnTable(d: DatasetFigures): string[] {
  const cols = Object.keys(d.stages.writer.perReading.columns);
  const rows = ['| column | writer | compacted | archived | encodings (archived) |', '|---|---:|---:|---:|---|'];
  for (const c of cols) {
    const v = (s: DatasetFigures['stages']['writer']) => f3(s.perReading.columns[c] ?? 0);
    rows.push(`| ${c} | ${v(d.stages.writer)} | ${v(d.stages.compacted)} | ${v(d.stages.archived)} | ${d.stages.archived.size.encodings[c] ?? ''} |`);
  }
  rows.push(`| footers | ${f3(d.stages.writer.perReading.footer)} | ${f3(d.stages.compacted.perReading.footer)} | ${f3(d.stages.archived.perReading.footer)} | |`);
  return rows;
}

function metricTable(d: DatasetFigures): string[] {
  const rows = [
    '| metric | readings | distinct values | decimals needed | value B/reading V1 | value B/reading V2 | V2 value encoding | ts B/reading V1 | ts B/reading V2 | V2 ts encoding |',
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---|',
  ];
  for (const m of d.metrics) {
    rows.push(`| ${m.metric} | ${n(m.readings)} | ${n(m.distinctValues)} | ${m.decimals ?? '> 9'} | ${f3(m.valueV1)} | ${f3(m.valueV2)} | ${m.valueEncodingV2} | ${f3(m.tsV1)} | ${f3(m.tsV2)} | ${m.tsEncodingV2} |`);
  }
  return rows;
}

function readers(v: VariantFigures): string {
  const duck = v.duckdbRowsIdentical ? 'same rows' : '**rows differ**';
  const hyp = v.hyparquet.ok ? `ok (${n(v.hyparquet.rows)} rows)` : `**fails**: ${v.hyparquet.problem ?? ''}`.slice(0, 160);
  return `${duck} | ${hyp}`;
}

function variantTable(d: DatasetFigures): string[] {
  const rows = [
    '| variant | changes | files | bytes | B/reading | ÷ 1.37 | ÷ 3 | ts | value | ts + value | sensor_id + metric | provenance | footers | value encoding | write | DuckDB reads | hyparquet reads |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|',
  ];
  for (const v of d.variants) {
    const p = v.perReading;
    const lossy = v.maxRelativeError === undefined ? '' : v.maxRelativeError === 0 ? ' (exact)' : ` (max rel. error ${v.maxRelativeError.toExponential(1)})`;
    rows.push(
      `| ${v.name}${lossy} | ${v.axis} | ${n(v.files)} | ${n(v.bytes)} | **${f2(v.bytesPerReading)}** | ${f2(v.ratios.toGorilla137)} | ${f2(v.ratios.toInflux3)} | ${f3(p.ts)} | ${f3(p.value)} | ${f3(p.tsValue)} | ${f3(p.seriesKey)} | ${f3(p.provenance)} | ${f3(p.footer)} | ${v.encodings.value ?? ''} | ${n(v.writeMs)} ms | ${readers(v)} |`,
    );
  }
  return rows;
}

/** The smallest variant that keeps the lake's columns exactly (no FLOAT, no dropped column). */
export function bestLossless(d: DatasetFigures, granularity?: VariantFigures['granularity']): VariantFigures | undefined {
  return d.variants
    .filter((v) => !v.floatValue && v.decimalScale === undefined && v.columns.length === 10 && v.duckdbRowsIdentical && (granularity === undefined || v.granularity === granularity))
    .sort((a, b) => a.bytesPerReading - b.bytesPerReading)[0];
}

function verdict(r: StorageBenchResult): string[] {
  const rows = [
    '| dataset | readings | days | best lake stage (B/reading) | its ts + value | best re-encoding, lake columns, daily files | best re-encoding, lake columns, any file size | best of everything measured | smallest ts + value measured | target ≤ 1.37 met by the lake? |',
    '|---|---:|---:|---:|---:|---|---|---|---|---|',
  ];
  for (const d of r.datasets) {
    const stage = [d.stages.writer, d.stages.compacted, d.stages.archived].sort((a, b) => a.perReading.total - b.perReading.total)[0];
    const st = stage.perReading.total;
    const tv = [...d.variants].sort((a, b) => a.perReading.tsValue - b.perReading.tsValue)[0];
    const day = bestLossless(d, 'day');
    const any = bestLossless(d);
    const all = [...d.variants].sort((a, b) => a.bytesPerReading - b.bytesPerReading)[0];
    const fmt = (v: VariantFigures | undefined) => (v ? `${f2(v.bytesPerReading)} (${v.name})` : '–');
    rows.push(`| ${d.name} | ${n(d.readings)} | ${d.days} | ${f2(st)} | ${f2(stage.perReading.tsValue)} | ${fmt(day)} | ${fmt(any)} | ${fmt(all)} | ${tv ? `${f2(tv.perReading.tsValue)} (${tv.name})` : '–'} | ${d.kind === 'real' ? (st <= 1.37 ? 'yes' : 'no') : 'n/a (synthetic)'} |`);
  }
  return rows;
}

export function renderStorageReport(r: StorageBenchResult): string {
  const m = r.machine;
  const out: string[] = [
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC: \`${r.command}\`, ${r.durationS} s. Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, ` +
      `@duckdb/node-api ${m.duckdb} (one thread), hyparquet ${m.hyparquet}; load average ${m.loadavgStart.join(' / ')} at the start, ${m.loadavgEnd.join(' / ')} at the end (shared machine: times are indicative, sizes are exact).`,
    '',
    `Jobs as configured by default: \`lake_compact\` minFiles ${r.jobSettings.minFiles}, smallFileBytes ${n(r.jobSettings.smallFileBytes)}, zstd ${r.jobSettings.zstdLevel}; \`lake_archive\` zstd ${r.jobSettings.archiveZstdLevel}.`,
    'B/reading = file bytes / readings. Ratios are to Gorilla\'s 1.37 bytes per (timestamp, value) point and to InfluxDB\'s ~3 bytes per value (below 1 = smaller).',
    'Column figures are compressed column-chunk bytes (page headers included) per reading; "footers" is the Parquet footer (schema, row-group and column statistics).',
    '',
    '### Verdict',
    '',
    ...verdict(r),
  ];
  for (const d of r.datasets) {
    out.push('', `### ${d.name}: ${n(d.readings)} readings over ${d.days} day${d.days === 1 ? '' : 's'}`, '', d.description + (d.citation ? ` — ${d.citation}.` : '.'), '');
    out.push(`Written via ${String(d.written.via)}.`, '');
    out.push(...stageTable(d), '', 'Bytes per reading by column:', '', ...columnTable(d), '', `Values by metric (one file per metric, zstd 19; decimals needed for DECIMAL to be exact: ${d.decimalScale ?? '> 9 for some value'} over the whole dataset):`, '', ...metricTable(d), '', 'Encoding grid (the compacted rows re-encoded; one change at a time from the baseline):', '', ...variantTable(d));
  }
  return out.join('\n');
}
