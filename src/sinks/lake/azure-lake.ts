/**
 * The Parquet lake on Azure Blob Storage / ADLS Gen2 (config `lake.kind: azure`): the same layout,
 * encoding and manifest as FsLake, stored through AzureBlobLakeStore (docs/lake.md, "Azure Blob / ADLS").
 */
import type { Logger } from '../../core/types.js';
import { AzureBlobLakeStore, type AzureBlobLakeStoreOptions } from './azure-store.js';
import { DEFAULT_ROW_GROUP_SIZE } from './fs-lake.js';
import type { LakePartitioning } from './layout.js';
import { ParquetLake } from './parquet-lake.js';

export interface AzureLakeOptions {
  azure: AzureBlobLakeStoreOptions;
  partitioning: LakePartitioning;
  zstdLevel: number;
  logger?: Logger;
}

export class AzureLake extends ParquetLake {
  private constructor(opts: AzureLakeOptions, store: AzureBlobLakeStore) {
    super(store, {
      partitioning: opts.partitioning,
      encoding: { zstdLevel: opts.zstdLevel, rowGroupSize: DEFAULT_ROW_GROUP_SIZE, parquetVersion: 'V1' },
      logger: opts.logger,
    });
  }

  /** Connects, creates the container when missing, reads the high-water mark and ensures the manifest. */
  static async open(opts: AzureLakeOptions): Promise<AzureLake> {
    const lake = new AzureLake(opts, AzureBlobLakeStore.create(opts.azure));
    await lake.open();
    return lake;
  }
}
