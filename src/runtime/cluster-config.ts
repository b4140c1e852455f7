import { z } from 'zod';

/** `cluster`: several collectors sharing a JetStream spool and a PostgreSQL warehouse (docs/deploy.md, docs/jetstream.md). */
export const clusterConfigSchema = z
  .object({
    /** none: this process writes and runs jobs; postgres: only the holder of an advisory lock does (needs warehouse.kind postgres). */
    leaderElection: z.enum(['none', 'postgres']).default('none'),
    /** Collectors with the same name share one leader. */
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default('sensorpipe'),
    /** A follower tries to take over this often; the leader checks its session as often. */
    pollMs: z.number().int().min(100).default(2000),
  })
  .strict();

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
