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

/**
 * DuckDB resource limits, passed at open (the instance is locked afterwards). Unset: DuckDB's own
 * defaults, a buffer pool of up to 80% of the machine's memory and a thread per core, which
 * suits a machine given to Sensorpipe; set them where it shares the machine (docs/performance.md
 * measures the memory a 10,000-sensor fleet needs under both).
 */
const duckdbSchema = z
  .object({
    /** The buffer pool's ceiling in DuckDB's size syntax ('512MB', '2GB'); larger queries spill to `<file>.tmp`. */
    memoryLimit: z
      // A bare number (from YAML or the environment) gets the same answer as any other unit-less size.
      .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, "a size with its unit, such as '512MB' or '2GB'").nullable())
      .default(null),
    /** Threads for queries and jobs; null: one per core. */
    threads: z.number().int().min(1).max(256).nullable().default(null),
  })
  .strict();

export const warehouseConfigSchema = z
  .object({
    kind: z.enum(['duckdb', 'postgres']).default('duckdb'),
    duckdb: duckdbSchema.default({ memoryLimit: null, threads: null }),
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
