import { z } from 'zod';
import { cronProblem } from '../jobs/cron.js';
import { qualityConfigSchema } from '../quality/config.js';
import { mqttExternalConfigSchema } from '../sources/mqtt-external-config.js';
import { jetstreamSpoolConfigSchema } from '../pipeline/spool/jetstream-config.js';
import { clusterConfigSchema } from '../runtime/cluster-config.js';
import { warehouseConfigSchema } from '../sinks/warehouse/config.js';
import { azureLakeSchema, lakeKindSchema, lakeLocationProblem } from '../sinks/lake/config.js';
import { alertsConfigSchema, notifiersConfigSchema } from '../alerting/config.js';

const port = z.number().int().min(0).max(65535);

/** A cron schedule (5 fields, UTC), checked when the config is loaded. */
const cronSchedule = z.string().superRefine((s, ctx) => {
  const problem = cronProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Settings every job has (docs/jobs.md). */
function jobSettings(d: { enabled: boolean; schedule: string; graceS: number; maxCatchupWindows: number }) {
  return {
    enabled: z.boolean().default(d.enabled),
    /** Cron, UTC. */
    schedule: cronSchedule.default(d.schedule),
    /** Watermark grace for late data: a window runs once now - graceS is past its end. */
    graceS: z.number().nonnegative().default(d.graceS),
    /** After downtime, at most this many missed windows run; older ones are recorded as skipped. */
    maxCatchupWindows: z.number().int().positive().default(d.maxCatchupWindows),
  };
}

/** A TLS listener's certificate (chain) and private key, PEM files; null for none. */
const tlsFiles = z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict().nullable().default(null);

/** Days to keep; null keeps forever. */
const keepDays = z.number().int().positive().nullable();

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    demo: z.boolean().default(false).describe('allow anonymous devices and run a demo fleet (insecure)'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    mqtt: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(1883),
        /** Largest MQTT packet (declared remaining length); a larger one closes the connection before it is read. */
        maxPacketBytes: z.number().int().positive().max(268_435_455).default(1024 * 1024),
        /** A connection that has not sent a complete CONNECT by then is closed (half-open / slowloris sockets). */
        connectTimeoutMs: z.number().int().positive().default(10_000),
        /** mqtts with your certificate: PEM files (docs/reliability.md); null = plain TCP. */
        tls: tlsFiles,
      })
      .strict()
      .default({ enabled: true, host: '0.0.0.0', port: 1883, maxPacketBytes: 1024 * 1024, connectTimeoutMs: 10_000, tls: null }),
    /** Subscribe to an external MQTT broker (src/sources/mqtt-external-config.ts, docs/mqtt-external.md). */
    mqttExternal: mqttExternalConfigSchema.prefault({}),
    http: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        /** Ingest: largest request body on the wire (compressed or not); larger requests get 413. */
        maxBodyBytes: z.number().int().positive().default(1024 * 1024),
        /** Ingest: largest body after gzip decompression; inflating stops there and the request gets 413. */
        maxDecompressedBytes: z.number().int().positive().default(8 * 1024 * 1024),
        /** POST /api/v2/write (InfluxDB line protocol): how lines map to sensors and metrics (docs/http-ingest.md). */
        lineProtocol: z
          .object({
            /** Tags that name the sensor, first match wins (Telegraf adds `host` to every metric). */
            sensorTags: z.array(z.string().min(1)).min(1).default(['sensor_id', 'host']),
            /** Measurements whose fields are metric names as they are, without the `<measurement>_` prefix. */
            passthroughMeasurements: z.array(z.string().min(1)).default([]),
          })
          .strict()
          .default({ sensorTags: ['sensor_id', 'host'], passthroughMeasurements: [] }),
        /** HTTPS with your certificate: PEM files (docs/reliability.md); null = plain HTTP. */
        tls: tlsFiles,
      })
      .strict()
      .default({
        tls: null,
        enabled: true,
        host: '0.0.0.0',
        port: 8080,
        maxBodyBytes: 1024 * 1024,
        maxDecompressedBytes: 8 * 1024 * 1024,
        lineProtocol: { sensorTags: ['sensor_id', 'host'], passthroughMeasurements: [] },
      }),
    validation: z
      .object({
        maxPayloadBytes: z.number().int().positive().default(256 * 1024),
        maxFutureSkewS: z.number().nonnegative().default(300),
        /** Readings older than this are `bad_timestamp` (a clock that never got set). */
        minTimestamp: z.string().default('2000-01-01T00:00:00Z'),
        unknownSensorPolicy: z.enum(['auto', 'strict']).default('auto'),
        epochUnit: z.enum(['auto', 's', 'ms']).default('auto'),
      })
      .strict()
      .default({
        maxPayloadBytes: 256 * 1024,
        maxFutureSkewS: 300,
        minTimestamp: '2000-01-01T00:00:00Z',
        unknownSensorPolicy: 'auto',
        epochUnit: 'auto',
      }),
    registry: z
      .object({
        /** Plausibility limits and units given to a metric when a sensor is auto-registered. */
        metricDefaults: z
          .record(
            z.string(),
            z.object({ unit: z.string().nullable().default(null), min: z.number().nullable().default(null), max: z.number().nullable().default(null) }).strict(),
          )
          .default({
            temperature: { unit: '°C', min: -60, max: 100 },
            humidity: { unit: '%', min: 0, max: 100 },
          }),
      })
      .strict()
      .default({
        metricDefaults: {
          temperature: { unit: '°C', min: -60, max: 100 },
          humidity: { unit: '%', min: 0, max: 100 },
        },
      }),
    spool: z
      .object({
        /** sqlite: a local file (one process); jetstream: NATS JetStream shared by collectors (docs/jetstream.md). */
        kind: z.enum(['sqlite', 'jetstream']).default('sqlite'),
        maxBytes: z.number().int().positive().default(1024 * 1024 * 1024),
        jetstream: jetstreamSpoolConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    writer: z
      .object({
        batchMaxRecords: z.number().int().positive().default(5000),
        /** Readings per batch (an HTTP bulk request is one record of up to 10,000 lines): bounds the writer's memory. */
        batchMaxReadings: z.number().int().positive().default(50_000),
        flushIntervalMs: z.number().int().positive().default(250),
      })
      .strict()
      .default({ batchMaxRecords: 5000, batchMaxReadings: 50_000, flushIntervalMs: 250 }),
    lake: z
      .object({
        /** Where the lake lives: fs (<dataDir>/lake) or azure (lake.azure; docs/lake.md "Azure Blob / ADLS"). */
        kind: lakeKindSchema,
        azure: azureLakeSchema.optional(),
        partitioning: z.enum(['date', 'date_sensor']).default('date'),
        zstdLevel: z.number().int().min(1).max(22).default(6),
        /** Files replaced by compaction or archiving stay this long for readers that started before (docs/lake.md). */
        replacedFileGraceS: z.number().int().nonnegative().default(900),
        /** Lifecycle: partitions older than afterDays move to lake/archive/ (job lake_archive); null never. */
        archive: z
          .object({
            afterDays: z.number().int().positive().nullable().default(null),
            /** zstd level of archived files (the live files use zstdLevel). */
            zstdLevel: z.number().int().min(1).max(22).default(19),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .superRefine((l, ctx) => {
        const problem = lakeLocationProblem(l);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['azure'] });
      })
      .prefault({}),
    /** Which SQL warehouse: DuckDB (default) or PostgreSQL (src/sinks/warehouse/config.ts, docs/postgres.md). */
    warehouse: warehouseConfigSchema.prefault({}),
    sql: z
      .object({
        maxRows: z.number().int().positive().default(10000),
        timeoutMs: z.number().int().positive().default(10000),
      })
      .strict()
      .default({ maxRows: 10000, timeoutMs: 10000 }),
    jobs: z
      .object({
        resample: z.object(jobSettings({ enabled: true, schedule: '*/5 * * * *', graceS: 300, maxCatchupWindows: 168 })).strict().prefault({}),
        rollup_1h: z.object(jobSettings({ enabled: true, schedule: '*/5 * * * *', graceS: 0, maxCatchupWindows: 168 })).strict().prefault({}),
        rollup_1d: z.object(jobSettings({ enabled: true, schedule: '*/5 * * * *', graceS: 0, maxCatchupWindows: 31 })).strict().prefault({}),
        /** When the data-quality checks (the `quality` section) run; each check covers closed windows. */
        quality: z.object(jobSettings({ enabled: true, schedule: '*/15 * * * *', graceS: 300, maxCatchupWindows: 48 })).strict().prefault({}),
        /** The weekly data-quality digest (docs/digest.md): made on Mondays for the ISO week that just ended. */
        digest: z
          .object({
            ...jobSettings({ enabled: true, schedule: '0 6 * * 1', graceS: 0, maxCatchupWindows: 1 }),
            /** Base URL where <lake>/reports/digest is served (a web server, a file share); the announcement then links <reportUrl>/<week>/digest.html. */
            reportUrl: z.url().nullable().default(null),
          })
          .strict()
          .prefault({}),
        /** Merges the small files of closed lake partitions (docs/lake.md, Compaction). */
        lake_compact: z
          .object({
            ...jobSettings({ enabled: true, schedule: '20 * * * *', graceS: 3600, maxCatchupWindows: 1 }),
            /** A partition is compacted once it has at least this many live files smaller than smallFileBytes. */
            minFiles: z.number().int().min(2).default(4),
            smallFileBytes: z.number().int().positive().default(64 * 1024 * 1024),
          })
          .strict()
          .prefault({}),
        /** Moves lake partitions older than lake.archive.afterDays to lake/archive/. */
        lake_archive: z.object(jobSettings({ enabled: true, schedule: '40 3 * * *', graceS: 0, maxCatchupWindows: 1 })).strict().prefault({}),
        retention: z
          .object({
            ...jobSettings({ enabled: false, schedule: '30 3 * * *', graceS: 0, maxCatchupWindows: 1 }),
            keepDays: z
              .object({
                readings: keepDays.default(90),
                readings_1m: keepDays.default(365),
                readings_1h: keepDays.default(1825),
                readings_1d: keepDays.default(null),
              })
              .strict()
              .prefault({}),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Several collectors sharing a JetStream spool and a PostgreSQL warehouse: who leads (docs/deploy.md). */
    cluster: clusterConfigSchema.prefault({}),
    /** Prometheus /metrics (docs/monitoring.md). */
    metrics: z
      .object({
        /** Most sensors with their own sensor_id label on sensorpipe_sensor_last_seen_timestamp_seconds; the rest share `_other`. 0 publishes no sensor ids. */
        maxSensorLabels: z.number().int().nonnegative().default(500),
      })
      .strict()
      .prefault({}),
    /** Data-quality checks: thresholds, groups, rules (src/quality/config.ts, docs/quality.md). */
    quality: qualityConfigSchema.prefault({}),
    /** Alert rules, states, grouping and repeat (src/alerting/config.ts, docs/alerting.md). */
    alerts: alertsConfigSchema.prefault({}),
    /** Where notifications go: generic JSON webhook, Slack, Microsoft Teams (docs/alerting.md). */
    notifiers: notifiersConfigSchema.default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ValidationConfig = Config['validation'];
export type LakeConfig = Config['lake'];
