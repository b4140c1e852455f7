/**
 * The Parquet lake on the local file system (the default; DESIGN §4). Layout: layout.ts; encoding:
 * parquet-encoder.ts; atomic publishing: atomic-file.ts via FsLakeStore.
 */
import type { Logger } from '../../core/types.js';
import type { LakePartitioning } from './layout.js';
import type { ParquetEncoding } from './parquet-encoder.js';
import { ParquetLake } from './parquet-lake.js';
import { FsLakeStore } from './store.js';

/**
 * Default encoding, chosen by measurement (bench/lake-partitioning.ts, 1,000 sensors × temperature +
 * humidity at 1/min; bytes per reading):
 *
 *   file                        V1 zstd 1 / 3 / 6 / 9 / 19        V2 zstd 1 / 3 / 6 / 9 / 19
 *   spool batch (10k readings)  5.81 / 5.79 / 5.77 / 5.76 / 5.53   6.99 / 6.98 / 6.70 / 6.69 / 6.48
 *   one hour (120k readings)    3.65 / 3.70 / 3.66 / 3.57 / 3.42   3.20 / 2.86 / 2.80 / 2.73 / 2.53
 *
 * The writer's files are batch-sized, where Parquet V1 is the smaller one (delta encoding of the
 * jittered received_at column loses to dictionary+zstd) and every reader understands it; V2 only pays
 * off on compacted files, and not every engine reads it, so it stays opt-in. zstd levels 1..9 differ
 * by under 1% at the same CPU; 19 saves 4% for about 1.8× the encoding CPU. So: V1, level from config
 * (default 6), DuckDB's default row group (122,880 rows: one group per batch file, ~40 sensor-days per
 * group in a compacted daily file, so min/max statistics on sensor_id prune well there).
 */
export const DEFAULT_ROW_GROUP_SIZE = 122_880;

export interface FsLakeOptions {
  /** `<dataDir>/lake`; created when missing. */
  dir: string;
  partitioning: LakePartitioning;
  /** zstd level 1..22 (config `lake.zstdLevel`). */
  zstdLevel: number;
  logger?: Logger;
  /** Overrides for benchmarks; production uses the defaults. */
  encoding?: Partial<Omit<ParquetEncoding, 'zstdLevel'>>;
}

export class FsLake extends ParquetLake {
  readonly dir: string;

  private constructor(opts: FsLakeOptions) {
    super(new FsLakeStore(opts.dir), {
      partitioning: opts.partitioning,
      encoding: { zstdLevel: opts.zstdLevel, rowGroupSize: DEFAULT_ROW_GROUP_SIZE, parquetVersion: 'V1', ...opts.encoding },
      logger: opts.logger,
    });
    this.dir = opts.dir;
  }

  /** Creates the lake and opens it (removing leftovers of an interrupted write, logged as a warning). */
  static async open(opts: FsLakeOptions): Promise<FsLake> {
    const lake = new FsLake(opts);
    await lake.open();
    return lake;
  }
}
