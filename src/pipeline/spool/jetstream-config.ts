import { z } from 'zod';

/** `spool.jetstream`: the spool on NATS JetStream for the scaled-out mode (docs/jetstream.md). */
export const jetstreamSpoolConfigSchema = z
  .object({
    servers: z.array(z.string().regex(/^(nats|tls):\/\/\S+$/, 'must look like nats://host:4222')).min(1).default(['nats://127.0.0.1:4222']),
    /** Stream name (letters, digits, - and _); its subject is `<stream>.entries`, its state bucket `<stream>_state`. */
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('sensorpipe'),
    /** Oldest unwritten entries the stream keeps (0: until written). A limit here can drop data a sink never got: keep 0 unless you mean it. */
    maxAgeS: z.number().int().nonnegative().default(0),
    /** JetStream drops a re-published message with the same Nats-Msg-Id within this window. */
    duplicateWindowS: z.number().int().positive().default(120),
    /** 1 on a single server (then run it with `sync_interval: always`), 3 on a cluster. */
    replicas: z.number().int().min(1).max(5).default(1),
    user: z.string().optional(),
    /** Better given as SENSORPIPE_SPOOL__JETSTREAM__PASS. */
    pass: z.string().optional(),
    token: z.string().optional(),
  })
  .strict();

export type JetStreamSpoolConfig = z.infer<typeof jetstreamSpoolConfigSchema>;
