/**
 * Opens the lake the configuration names (`lake.kind`): the file system under `<dataDir>/lake`, or
 * an Azure Blob container. Every process that writes or maintains the lake opens it here.
 */
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/types.js';
import { AzureLake } from './azure-lake.js';
import { FsLake } from './fs-lake.js';
import type { ParquetLake } from './parquet-lake.js';

export function openLake(lake: Config['lake'], paths: { root: string; lake: string }, logger?: Logger): Promise<ParquetLake> {
  const common = { partitioning: lake.partitioning, zstdLevel: lake.zstdLevel, logger };
  if (lake.kind === 'azure') {
    if (!lake.azure) throw new Error('lake.kind is azure but lake.azure is not set (docs/lake.md, "Azure Blob / ADLS")');
    return AzureLake.open({ ...common, azure: { ...lake.azure, scratchDir: join(paths.root, 'lake-scratch') } });
  }
  return FsLake.open({ ...common, dir: paths.lake });
}
