import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AuthStore, Role } from '../auth/auth-store.js';
import { QueryError, type Warehouse } from '../core/sinks.js';
import type { Logger } from '../core/types.js';

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

/** Resolves the caller's role from `Authorization: Bearer <token>`, or answers 401/403 itself. */
function requireRole(auth: AuthStore, allowed: Role[]) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) {
      return reply.code(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <token> (create one with `sensorpipe tokens create --role analyst`)' });
    }
    const role = auth.roleOf(token);
    if (!role) return reply.code(401).send({ error: 'unauthorized', message: 'unknown token' });
    if (!allowed.includes(role)) {
      return reply.code(403).send({ error: 'forbidden', message: `role ${role} may not call this; allowed: ${allowed.join(', ')}` });
    }
  };
}

/** The HTTP app, built without listening so tests can inject requests. */
export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/v1/status', { preHandler: requireRole(deps.auth, ['admin', 'analyst', 'scientist']) }, async () => deps.status.status());

  app.post<{ Body: { sql?: unknown } }>(
    '/v1/sql',
    {
      preHandler: requireRole(deps.auth, ['admin', 'analyst', 'scientist']),
      schema: {
        body: {
          type: 'object',
          required: ['sql'],
          properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } },
        },
      },
    },
    async (req, reply) => {
      try {
        const result = await deps.warehouse.query(req.body.sql as string, deps.sql);
        return result;
      } catch (err) {
        if (err instanceof QueryError) {
          const code = err.code === 'timeout' ? 408 : err.code === 'refused' ? 403 : 400;
          return reply.code(code).send({ error: err.code, message: err.message });
        }
        throw err;
      }
    },
  );

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err.validation || (err.statusCode && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ error: 'bad_request', message: err.message });
    }
    deps.logger.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });
  return app;
}
