import { z } from 'zod';

/**
 * `mqttExternal`: subscribe to a broker someone else runs (Mosquitto, EMQX, HiveMQ, …) instead of,
 * or next to, the embedded one (docs/mqtt-external.md).
 */
export const mqttExternalConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** mqtt://host:1883 or mqtts://host:8883 */
    url: z.string().regex(/^mqtts?:\/\/[^/\s]+\/?$/, 'must look like mqtt://host:port or mqtts://host:port').default('mqtt://127.0.0.1:1883'),
    username: z.string().min(1).optional(),
    /** Better given as SENSORPIPE_MQTT_EXTERNAL__PASSWORD than written in the file. */
    password: z.string().optional(),
    /** MQTT 3.1.1 (4) or 5. */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
    /**
     * Fixed client id: with a persistent session the broker keeps what was not acknowledged and
     * delivers it again when this id reconnects. Connection i uses `<clientId>-<i>`. Each collector
     * process needs its own clientId.
     */
    clientId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'letters, digits and . _ : - (at most 64)').default('sensorpipe'),
    /**
     * Parallel subscriber connections. MQTT.js handles one message at a time per connection (the
     * PUBACK waits for the durable write), so throughput grows with connections until the spool's
     * group commit is saturated.
     */
    connections: z.number().int().min(1).max(64).default(8),
    /** `$share/<group>/…`: the broker splits messages between all connections and collectors of the group. */
    sharedGroup: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).nullable().default('sensorpipe'),
    /** Topics to take in; `{sensor_id}` marks the level that names the sensor (subscribed as `+`). */
    topicTemplate: z
      .string()
      .refine((t) => t.split('/').filter((l) => l === '{sensor_id}').length === 1, 'must contain the level {sensor_id} exactly once')
      .refine((t) => !/[#+]/.test(t), 'no wildcards: {sensor_id} is the wildcard level')
      .default('sensors/{sensor_id}/telemetry'),
    keepaliveS: z.number().int().positive().default(30),
    /** MQTT 5: how long the broker keeps the session while we are away. */
    sessionExpiryS: z.number().int().positive().default(7 * 24 * 3600),
    /** While the spool is full the message is retried after this delay (doubling up to 10 s); it is acknowledged only once stored. */
    retryMs: z.number().int().positive().default(200),
    tls: z
      .object({
        /** PEM file of the CA that signed the broker's certificate (default: the system CAs). */
        caFile: z.string().optional(),
        /** Client certificate and key (PEM) when the broker wants mutual TLS. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.connections > 1 && c.sharedGroup === null) {
      ctx.addIssue({ code: 'custom', path: ['sharedGroup'], message: 'connections > 1 needs a sharedGroup, or every connection receives every message' });
    }
    if (Boolean(c.tls.certFile) !== Boolean(c.tls.keyFile)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'certFile and keyFile go together' });
    }
  });

export type MqttExternalConfig = z.infer<typeof mqttExternalConfigSchema>;
