/**
 * Where the lake lives (`lake.kind`, `lake.azure`; docs/lake.md "Azure Blob / ADLS",
 * docs/configuration.md). Secrets come best from the environment:
 * SENSORPIPE_LAKE__AZURE__CONNECTION_STRING, SENSORPIPE_LAKE__AZURE__ACCOUNT_KEY or
 * SENSORPIPE_LAKE__AZURE__SAS_TOKEN.
 */
import { z } from 'zod';

export const lakeKindSchema = z.enum(['fs', 'azure']).default('fs');

export const azureLakeSchema = z
  .object({
    /** The storage account's connection string (Azure portal: Access keys), or Azurite's. */
    connectionString: z.string().min(1).optional(),
    /** `https://<account>.blob.core.windows.net` (ADLS Gen2 accounts too: the blob endpoint). */
    accountUrl: z.string().url().optional(),
    /** With accountKey; taken from accountUrl when absent. */
    accountName: z.string().min(1).optional(),
    accountKey: z.string().min(1).optional(),
    /** A SAS with read, write, list, delete (and create) on the container. */
    sasToken: z.string().min(1).optional(),
    /** Container name (3-63 lower-case letters, digits, '-'); created when missing if the credentials allow. */
    container: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'an Azure container name: 3-63 lower-case letters, digits and single hyphens'),
    /** Folder inside the container for the lake ('' = its root), e.g. `sensorpipe/lake`. */
    prefix: z.string().regex(/^[^\\]*$/, 'use / between folders').default(''),
  })
  .strict()
  .superRefine((a, ctx) => {
    const ways = [a.connectionString !== undefined, a.accountUrl !== undefined].filter(Boolean).length;
    if (ways !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set either connectionString or accountUrl (with accountKey or sasToken), not both or neither' });
    } else if (a.accountUrl && !a.accountKey && !a.sasToken) {
      ctx.addIssue({ code: 'custom', message: 'accountUrl needs accountKey or sasToken (e.g. SENSORPIPE_LAKE__AZURE__SAS_TOKEN)' });
    }
  });

export type AzureLakeConfig = z.infer<typeof azureLakeSchema>;

/** lake.kind azure needs lake.azure (used by the lake section's superRefine). */
export function lakeLocationProblem(lake: { kind: 'fs' | 'azure'; azure?: AzureLakeConfig }): string | null {
  return lake.kind === 'azure' && !lake.azure ? 'lake.kind is azure: set lake.azure (container and credentials; docs/lake.md "Azure Blob / ADLS")' : null;
}
