/**
 * The lakes the storage benchmark measures, each written by the product's own code so the files are
 * the ones Sensorpipe really produces:
 *
 * - the UCI datasets go through `sensorpipe import`'s code path (mapping, LocalImportSink: validation,
 *   spool, writer, warehouse and lake) into a fresh data directory;
 * - the synthetic fleet goes through FsLake.writeBatch in writer-sized batches (the import path
 *   would add nothing but time: the writer call is the same).
 *
 * UCI Machine Learning Repository datasets, CC BY 4.0: Air Quality (De Vito et al., 2008) and
 * Occupancy Detection (Candanedo & Feldheim, 2016); see ../shared/data/README.md.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger, systemClock } from '../../src/core/types.js';
import { loadMapping } from '../../src/import/mapping.js';
import { noProgress } from '../../src/import/progress.js';
import { resolveInputs, runImport, type ImportReport } from '../../src/import/run-import.js';
import { LocalImportSink } from '../../src/import/sinks.js';
import { dataPaths } from '../../src/runtime/paths.js';
import { FsLake } from '../../src/sinks/lake/fs-lake.js';
import { fleetBatches } from '../../test/helpers/lake-batches.js';

export interface RealDataset {
  name: string;
  /** File or directory under the shared data directory. */
  input: string;
  mapping: string;
  citation: string;
}

export const REAL_DATASETS: RealDataset[] = [
  {
    name: 'uci-air-quality',
    input: 'uci-air-quality/AirQualityUCI.csv',
    mapping: 'examples/mappings/uci-air-quality.yaml',
    citation: 'Air Quality (De Vito et al., 2008), UCI Machine Learning Repository, CC BY 4.0',
  },
  {
    name: 'uci-occupancy',
    input: 'uci-occupancy',
    mapping: 'examples/mappings/uci-occupancy.yaml',
    citation: 'Occupancy Detection (Candanedo & Feldheim, 2016), UCI Machine Learning Repository, CC BY 4.0',
  },
];

/** Where the shared datasets live (the repository's sibling `shared/data`). */
export function sharedDataDir(repoRoot: string): string {
  return join(repoRoot, '..', 'shared', 'data');
}

/** Imports one dataset into `dataDir` exactly as `sensorpipe import <input> --mapping <m>` does without a server. */
export async function importRealDataset(ds: RealDataset, sharedData: string, repoRoot: string, dataDir: string): Promise<{ lakeDir: string; report: ImportReport; ms: number }> {
  const input = join(sharedData, ds.input);
  if (!existsSync(input)) throw new Error(`${input} is missing: the storage benchmark needs the UCI datasets in ../shared/data (see its README.md)`);
  // An empty config file and no SENSORPIPE_* variables: the product's defaults, only the data dir is
  // ours (a sensorpipe.yaml in the working directory must not change what is measured).
  const configFile = join(dataDir, '..', `${ds.name}-empty-config.yaml`);
  writeFileSync(configFile, '');
  const config = loadConfig({ file: configFile, env: {}, flags: { dataDir } });
  const mapping = loadMapping(join(repoRoot, ds.mapping), {});
  const t0 = performance.now();
  const sink = await LocalImportSink.open(config, { clock: systemClock, logger: silentLogger });
  let report: ImportReport;
  try {
    report = await runImport(resolveInputs(input), mapping, sink, { progress: noProgress });
  } finally {
    await sink.close();
  }
  return { lakeDir: dataPaths(dataDir).lake, report, ms: Math.round(performance.now() - t0) };
}

export interface FleetSpec {
  sensors: number;
  minutes: number;
  /** Messages per writer batch (one lake file per batch and partition). */
  batchMessages: number;
  startMs: number;
}

/** One day of the fleet (temperature + humidity once a minute per sensor) written batch by batch. */
export async function writeFleet(spec: FleetSpec, lakeDir: string, zstdLevel: number): Promise<{ readings: number; batches: number; ms: number }> {
  const lake = await FsLake.open({ dir: lakeDir, partitioning: 'date', zstdLevel });
  const t0 = performance.now();
  let batches = 0;
  let readings = 0;
  try {
    for (const b of fleetBatches({ sensors: spec.sensors, startMs: spec.startMs, minutes: spec.minutes, recordsPerBatch: spec.batchMessages })) {
      await lake.writeBatch(b, []);
      batches++;
      for (const r of b.records) if (r.kind === 'message') readings += r.readings.length;
    }
  } finally {
    await lake.close();
  }
  return { readings, batches, ms: Math.round(performance.now() - t0) };
}
