/**
 * The `warehouse` config section: which engine, and for PostgreSQL where it is (docs/postgres.md,
 * docs/configuration.md). Secrets come best from the environment:
 * SENSORPIPE_WAREHOUSE__POSTGRES__PASSWORD or a URL in SENSORPIPE_WAREHOUSE__POSTGRES__URL.
 */
import { z } from 'zod';

const postgresSchema = z
  .object({
    /** postgres://user:password@host:port/database?sslmode=… ; the fields below override its parts. */
    url: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    /** true: TLS with certificate verification; or node TLS options (a CA file's PEM text in `ca`). */
    ssl: z
      .union([z.boolean(), z.object({ rejectUnauthorized: z.boolean().optional(), ca: z.string().optional() }).strict()])
      .optional(),
    /** The schema holding Sensorpipe's tables and views; created when missing. */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier: letters a-z, digits and _, not starting with a digit')
      .default('sensorpipe'),
    /** Connections for analyst queries (the pipeline and jobs use 3 more). */
    poolSize: z.number().int().min(1).max(100).default(4),
  })
  .strict();

export const warehouseConfigSchema = z
  .object({
    kind: z.enum(['duckdb', 'postgres']).default('duckdb'),
    postgres: postgresSchema.optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.kind === 'postgres' && !w.postgres?.url && !w.postgres?.host) {
      ctx.addIssue({
        code: 'custom',
        path: ['postgres'],
        message: 'warehouse.kind is postgres: give warehouse.postgres.url or warehouse.postgres.host (see docs/postgres.md)',
      });
    }
  });

export type WarehouseConfig = z.infer<typeof warehouseConfigSchema>;
