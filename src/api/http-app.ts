import Fastify, { type FastifyInstance } from 'fastify';
import type { AuthStore } from '../auth/auth-store.js';
import type { Warehouse } from '../core/sinks.js';
import type { Logger } from '../core/types.js';
import { sqlRoutes } from './routes/sql.js';
import { statusRoutes } from './routes/status.js';

export interface StatusProvider {
  status(): Promise<Record<string, unknown>>;
}

export interface HttpAppDeps {
  auth: AuthStore;
  warehouse: Warehouse;
  status: StatusProvider;
  logger: Logger;
  sql: { maxRows: number; timeoutMs: number };
}

/** The HTTP app, built without listening so tests can inject requests. Routes live in ./routes, one file per area. */
export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  statusRoutes(app, deps);
  sqlRoutes(app, deps);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err.validation || (err.statusCode && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ error: 'bad_request', message: err.message });
    }
    deps.logger.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });
  return app;
}
