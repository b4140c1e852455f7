import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { AuthStore } from '../auth/auth-store.js';
import type { MemoryRegistry } from '../core/registry.js';
import type { Warehouse } from '../core/sinks.js';
import { systemClock, type Clock, type Logger } from '../core/types.js';
import type { Ingestor } from '../pipeline/ingestor.js';
import { ingestRoutes, type IngestDeps } from './routes/ingest.js';
import { jobsRoutes, type JobsApi } from './routes/jobs.js';
import { alertsRoutes, recordSqlLatency, type AlertsApi } from './routes/alerts.js';
import { monitoringRoutes, type MonitoringApi } from './routes/monitoring.js';
import { catalogRoutes } from './routes/catalog.js';
import type { LakeStore } from '../sinks/lake/store.js';
import { quarantineRoutes } from './routes/quarantine.js';
import { qualityRoutes } from './routes/quality.js';
import { readingsRoutes } from './routes/readings.js';
import { exportRoutes } from './routes/export.js';
import { sensorsRoutes } from './routes/sensors.js';
import { sqlRoutes } from './routes/sql.js';
import { statusRoutes } from './routes/status.js';
import { webRoutes } from './routes/web.js';

export interface StatusProvider {
  status(): Promise<Record<string, unknown>>;
}

export interface HttpAppDeps {
  auth: AuthStore;
  warehouse: Warehouse;
  status: StatusProvider;
  logger: Logger;
  sql: { maxRows: number; timeoutMs: number };
  /** HTTP ingest (routes/ingest.ts): without an ingestor the ingest routes are not registered. */
  ingestor?: Ingestor;
  /** Server clock for received_at (default: the system clock). */
  clock?: Clock;
  /** The http.* ingest settings (default: the config defaults). */
  httpIngest?: IngestDeps['http'];
  /** The in-memory registry validation uses (PUT /v1/sensors/:id updates it with the warehouse). */
  registry?: MemoryRegistry;
  /** Root of the Parquet lake (for /v1/catalog); without it the catalog lists no lake prefixes. */
  lakeDir?: string;
  /** Where the lake's files are (file system or Azure Blob; default the file system at lakeDir). */
  lakeStore?: LakeStore;
  /** Job administration (routes/jobs.ts): without it the /v1/jobs routes are not registered. */
  jobs?: JobsApi;
  /** Alerting (routes/alerts.ts): without it GET /v1/alerts is not registered and /v1/sql durations are not tracked. */
  alerts?: AlertsApi & { recordSqlDuration(ms: number): void };
  /** HTTPS with the user's certificate and key (PEM), from http.tls; plain HTTP when absent. */
  https?: { cert: Buffer; key: Buffer };
  /** /metrics and /readyz (routes/monitoring.ts): without it only /v1/accounting is registered. */
  monitoring?: MonitoringApi;
}

const DEFAULT_HTTP_INGEST: IngestDeps['http'] = {
  maxBodyBytes: 1024 * 1024,
  maxDecompressedBytes: 8 * 1024 * 1024,
  lineProtocol: { sensorTags: ['sensor_id', 'host'], passthroughMeasurements: [] },
};

/** The HTTP app, built without listening so tests can inject requests. Routes live in ./routes, one file per area. */
export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  // With http.tls the same app serves HTTPS (the user's certificate); the routes do not change.
  const app = (
    deps.https ? Fastify({ logger: false, bodyLimit: 1024 * 1024, https: deps.https }) : Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  ) as unknown as FastifyInstance;
  // The dashboard at / (routes/web.ts): static files, no token; its data calls use the API below.
  webRoutes(app);
  if (deps.alerts) recordSqlLatency(app, (ms) => deps.alerts!.recordSqlDuration(ms));
  // OpenAPI from the route schemas: swagger must be registered before the routes (it collects them
  // in an onRoute hook), so every route is registered inside the plugin below, loaded after it.
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Sensorpipe HTTP API',
        version: '0.1.0',
        description: 'Ingest, query, registry, quarantine and catalog. Roles per route: src/api/route-roles.ts and docs/api.md.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token from `sensorpipe tokens create --role <role>`' } } },
    },
  });
  // Docs page: swagger-ui served from the package's own files (no CDN).
  void app.register(swaggerUi, { routePrefix: '/docs' });
  void app.register(async (api) => {
    api.get('/openapi.json', { schema: { summary: 'This OpenAPI document', tags: ['meta'], security: [] } }, async () => app.swagger());
    statusRoutes(api, deps);
    monitoringRoutes(api, deps);
    sqlRoutes(api, deps);
    readingsRoutes(api, deps);
    sensorsRoutes(api, deps);
    quarantineRoutes(api, deps);
    catalogRoutes(api, deps);
    qualityRoutes(api, deps);
    exportRoutes(api, deps);
    if (deps.ingestor) {
      ingestRoutes(api, {
        auth: deps.auth,
        ingestor: deps.ingestor,
        clock: deps.clock ?? systemClock,
        logger: deps.logger,
        http: deps.httpIngest ?? DEFAULT_HTTP_INGEST,
      });
    }
    if (deps.jobs) jobsRoutes(api, { auth: deps.auth, jobs: deps.jobs, clock: deps.clock ?? systemClock });
    if (deps.alerts) alertsRoutes(api, { auth: deps.auth, alerts: deps.alerts, clock: deps.clock ?? systemClock });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err.validation || (err.statusCode && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ error: 'bad_request', message: err.message });
    }
    deps.logger.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });
  return app;
}
