/**
 * Lake storage benchmark (issue 8, item 3): bytes per reading of the Parquet lake for the UCI
 * datasets (imported with the product's import code path) and for a synthetic fleet, at the three
 * stages the product produces (writer files, after lake_compact, after lake_archive), with a
 * per-column breakdown, then an encoding grid on the compacted rows to choose by measurement.
 * Figures are compared with Gorilla's 1.37 bytes per (timestamp, value) point (Pelkonen et al.,
 * VLDB 2015) and InfluxDB's ~3 bytes per value.
 *
 *   node --import tsx bench/lake-storage.ts [--quick] [--no-docs] [--keep]
 *
 * Writes bench/results/storage-<date>.json and storage-latest.json (not with --quick) and the
 * generated part of docs/performance-storage.md (not with --no-docs or --quick). Importable without
 * side effects: `runStorageBench` is what bench/run.ts can call.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { loadConfig } from '../src/config/load.js';
import { importRealDataset, REAL_DATASETS, sharedDataDir, writeFleet, type FleetSpec } from './lib/storage-datasets.js';
import { r3, sqlList } from './lib/storage-measure.js';
import { checkHyparquet, type ReaderCheck } from './lib/storage-readers.js';
import { renderStorageReport } from './lib/storage-report.js';
import { runStages, type LakeJobSettings, type StageResult } from './lib/storage-stages.js';
import { metricValueCosts, type MetricValueCost } from './lib/storage-metrics.js';
import { decimalScaleOf, loadSource, ratios, variantGrid, writeVariant, type Variant } from './lib/storage-variants.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAY = 86_400_000;

export interface StorageBenchOptions {
  workDir: string;
  log: (s: string) => void;
  /** 100 sensors instead of 1,000 and a smaller encoding grid (a smoke run of a few minutes). */
  quick?: boolean;
}

export interface StageFigures extends StageResult {
  ratios: { toGorilla137: number; toInflux3: number };
  tsValueRatios: { toGorilla137: number; toInflux3: number };
}

export interface VariantFigures {
  name: string;
  axis: Variant['axis'];
  version: Variant['version'];
  zstd: number;
  sort: string;
  rowGroupSize: number;
  columns: string[];
  floatValue: boolean;
  decimalScale?: number;
  granularity: Variant['granularity'];
  files: number;
  bytes: number;
  rows: number;
  bytesPerReading: number;
  perReading: StageResult['perReading'];
  encodings: Record<string, string>;
  ratios: { toGorilla137: number; toInflux3: number };
  writeMs: number;
  duckdbRowsIdentical: boolean;
  hyparquet: ReaderCheck;
  maxRelativeError?: number;
}

export interface DatasetFigures {
  name: string;
  kind: 'real' | 'synthetic';
  description: string;
  citation?: string;
  readings: number;
  days: number;
  /** How the lake was written: the import report, or the fleet's batches. */
  written: Record<string, unknown>;
  stages: { writer: StageFigures; compacted: StageFigures; archived: StageFigures };
  /** Fewest decimals that hold every value exactly (null: some value needs more than 9). */
  decimalScale: number | null;
  /** What one metric's values and timestamps cost alone (one file per metric, V1 and V2 at zstd 19). */
  metrics: MetricValueCost[];
  variants: VariantFigures[];
}

export interface StorageBenchResult {
  date: string;
  command: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; duckdb: string; hyparquet: string; loadavgStart: number[]; loadavgEnd: number[] };
  references: { gorillaBytesPerPoint: number; influxBytesPerValue: number };
  jobSettings: LakeJobSettings;
  datasets: DatasetFigures[];
  durationS: number;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The jobs' settings in the default configuration (no file, no environment). */
function defaultJobSettings(workDir: string): LakeJobSettings {
  const file = join(workDir, 'defaults.yaml');
  writeFileSync(file, '');
  const c = loadConfig({ file, env: {} });
  return {
    zstdLevel: c.lake.zstdLevel,
    archiveZstdLevel: c.lake.archive.zstdLevel,
    minFiles: c.jobs.lake_compact.minFiles,
    smallFileBytes: c.jobs.lake_compact.smallFileBytes,
    graceMs: c.lake.replacedFileGraceS * 1000,
  };
}

function stageFigures(s: StageResult): StageFigures {
  return { ...s, ratios: ratios(s.perReading.total), tsValueRatios: ratios(s.perReading.tsValue) };
}

/** End (UTC midnight) of the newest day with readings in `paths`, and the number of days. */
async function dayRange(conn: DuckDBConnection, lakeDir: string): Promise<{ lastDayEnd: number; days: number }> {
  const r = (
    await conn.runAndReadAll(
      `SELECT epoch_ms(max(ts)) AS hi, count(DISTINCT ts::DATE) AS days FROM read_parquet(${sqlList([join(lakeDir, 'raw', '**', '*.parquet')])}, hive_partitioning = false)`,
    )
  ).getRowObjectsJS()[0];
  return { lastDayEnd: Math.floor(Number(r.hi) / DAY) * DAY + DAY, days: Number(r.days) };
}

async function measureDataset(
  conn: DuckDBConnection,
  base: Omit<DatasetFigures, 'stages' | 'variants' | 'readings' | 'days' | 'decimalScale' | 'metrics'>,
  lakeDir: string,
  workDir: string,
  settings: LakeJobSettings,
  o: { quick: boolean; hyparquetRowsPerFile: number; log: (s: string) => void },
): Promise<DatasetFigures> {
  const { lastDayEnd, days } = await dayRange(conn, lakeDir);
  o.log(`${base.name}: lake_compact and lake_archive (${days} day partitions)`);
  const stages = await runStages(conn, lakeDir, lastDayEnd, settings);
  const readings = stages.writer.size.rows;
  o.log(
    `${base.name}: ${readings} readings; B/reading writer ${stages.writer.perReading.total}, compacted ${stages.compacted.perReading.total}, archived ${stages.archived.perReading.total}`,
  );
  const rows = await loadSource(conn, stages.compactedPaths);
  if (rows !== readings) throw new Error(`${base.name}: the compacted files hold ${rows} rows, the writer's ${readings}`);
  const variants: VariantFigures[] = [];
  // With a single day, coarser files are the same file; a file per series only suits a few series.
  const series = Number((await conn.runAndReadAll('SELECT count(DISTINCT (sensor_id, metric)) AS n FROM src')).getRowObjectsJS()[0].n);
  const decimalScale = await decimalScaleOf(conn);
  const metrics = await metricValueCosts(conn, join(workDir, 'metrics'));
  const grid = variantGrid(o.quick, decimalScale).filter((v) => (v.granularity === 'series' ? series <= 100 : days > 1 || v.granularity === 'day'));
  for (const [i, v] of grid.entries()) {
    const r = await writeVariant(conn, v, join(workDir, 'variants', String(i).padStart(2, '0')));
    const hyparquet = await checkHyparquet(conn, r.paths, o.hyparquetRowsPerFile);
    o.log(`${base.name}: ${v.name}: ${r.perReading.total} B/reading (ts+value ${r.perReading.tsValue}), ${r.writeMs} ms, DuckDB ${r.duckdbRowsIdentical ? 'same rows' : 'ROWS DIFFER'}, hyparquet ${hyparquet.ok ? 'ok' : hyparquet.problem}`);
    variants.push({
      name: v.name,
      axis: v.axis,
      version: v.version,
      zstd: v.zstd,
      sort: v.sort,
      rowGroupSize: v.rowGroupSize,
      columns: v.columns,
      floatValue: !!v.floatValue,
      ...(v.decimalScale !== undefined ? { decimalScale: v.decimalScale } : {}),
      granularity: v.granularity,
      files: r.size.files,
      bytes: r.size.bytes,
      rows: r.size.rows,
      bytesPerReading: r.perReading.total,
      perReading: r.perReading,
      encodings: r.size.encodings,
      ratios: ratios(r.perReading.total),
      writeMs: r.writeMs,
      duckdbRowsIdentical: r.duckdbRowsIdentical,
      hyparquet,
      ...(r.maxRelativeError !== undefined ? { maxRelativeError: r.maxRelativeError } : {}),
    });
    rmSync(join(workDir, 'variants', String(i).padStart(2, '0')), { recursive: true, force: true });
  }
  await conn.run('DROP TABLE src');
  return {
    ...base,
    readings,
    days,
    stages: { writer: stageFigures(stages.writer), compacted: stageFigures(stages.compacted), archived: stageFigures(stages.archived) },
    decimalScale,
    metrics,
    variants,
  };
}

export async function runStorageBench(opts: StorageBenchOptions): Promise<StorageBenchResult> {
  const quick = !!opts.quick;
  const t0 = performance.now();
  const loadavgStart = loadavg().map((x) => r3(x));
  mkdirSync(opts.workDir, { recursive: true });
  const settings = defaultJobSettings(opts.workDir);
  const duck = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await duck.connect();
  const datasets: DatasetFigures[] = [];
  try {
    for (const ds of REAL_DATASETS) {
      const dir = join(opts.workDir, ds.name);
      mkdirSync(dir, { recursive: true });
      opts.log(`${ds.name}: importing with the product's import path (mapping ${ds.mapping})`);
      const imp = await importRealDataset(ds, sharedDataDir(REPO_ROOT), REPO_ROOT, join(dir, 'data'));
      const { report } = imp;
      const written = { via: `sensorpipe import ${ds.input} --mapping ${ds.mapping} (LocalImportSink, default config)`, importMs: imp.ms, rows: report.rows, readingsAccepted: report.readingsAccepted, quarantined: report.quarantined, missingValues: report.missingValues, batches: report.batches };
      datasets.push(
        await measureDataset(conn, { name: ds.name, kind: 'real', description: `${ds.input}`, citation: ds.citation, written }, imp.lakeDir, dir, settings, { quick, hyparquetRowsPerFile: Infinity, log: opts.log }),
      );
      rmSync(dir, { recursive: true, force: true });
    }

    const fleet: FleetSpec = { sensors: quick ? 100 : 1000, minutes: 1440, batchMessages: quick ? 100 : 1000, startMs: Date.UTC(2024, 2, 1) };
    const dir = join(opts.workDir, 'fleet');
    opts.log(`fleet: writing ${fleet.sensors} sensors × 2 metrics × ${fleet.minutes} minutes in batches of ${fleet.batchMessages} messages`);
    const w = await writeFleet(fleet, join(dir, 'lake'), settings.zstdLevel);
    const written = { via: 'FsLake.writeBatch (the writer\'s lake call), test/helpers/lake-batches.ts fleetBatches', sensors: fleet.sensors, metrics: 2, intervalS: 60, day: '2024-03-01', batchMessages: fleet.batchMessages, batches: w.batches, writeMs: w.ms };
    datasets.push(
      await measureDataset(
        conn,
        { name: `fleet-${fleet.sensors}`, kind: 'synthetic', description: `${fleet.sensors} sensors, temperature (0.01 °C random walk) + humidity (0.1 % random walk), one message a minute, one day`, written },
        join(dir, 'lake'),
        dir,
        settings,
        { quick, hyparquetRowsPerFile: 20_000, log: opts.log },
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
  return {
    date: new Date().toISOString(),
    command: `node --import tsx bench/lake-storage.ts${quick ? ' --quick' : ''}`,
    quick,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      duckdb: packageVersion('@duckdb/node-api'),
      hyparquet: packageVersion('hyparquet'),
      loadavgStart,
      loadavgEnd: loadavg().map((x) => r3(x)),
    },
    references: { gorillaBytesPerPoint: 1.37, influxBytesPerValue: 3 },
    jobSettings: settings,
    datasets,
    durationS: Math.round((performance.now() - t0) / 1000),
  };
}

const DOC = 'docs/performance-storage.md';
const BEGIN = '<!-- storage-bench:begin (generated by bench/lake-storage.ts; edit outside the markers) -->';
const END = '<!-- storage-bench:end -->';

/** Replaces the generated part of the report (between the markers), keeping the prose around it. */
function writeDoc(result: StorageBenchResult, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = `# Lake storage\n\n${BEGIN}\n${END}\n`;
  }
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${path} has lost its markers (${BEGIN} … ${END}); put them back where the generated tables go`);
  writeFileSync(path, text.slice(0, a + BEGIN.length) + '\n' + renderStorageReport(result) + '\n' + text.slice(b));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'no-docs': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
  const workDir = mkdtempSync(join(tmpdir(), 'lake-storage-bench-'));
  let result: StorageBenchResult;
  try {
    result = await runStorageBench({ workDir, log: (s) => console.error(`[storage] ${s}`), quick: values.quick });
  } finally {
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
  }
  saveStorageResults(result, !values['no-docs']);
  console.log(renderStorageReport(result));
}

/** Writes bench/results/storage-<date>[-quick].json; a full run also storage-latest.json and, with `docs`, the report page. */
export function saveStorageResults(result: StorageBenchResult, docs: boolean): void {
  const out = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const json = JSON.stringify(result, null, 2) + '\n';
  const day = result.date.slice(0, 10);
  writeFileSync(join(out, `storage-${day}${result.quick ? '-quick' : ''}.json`), json);
  if (!result.quick) writeFileSync(join(out, 'storage-latest.json'), json);
  if (!result.quick && docs) writeDoc(result, join(REPO_ROOT, DOC));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
