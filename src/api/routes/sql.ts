import type { FastifyInstance } from 'fastify';
import { QueryError } from '../../core/sinks.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';

/** POST /v1/sql: one read-only SELECT, with the configured row cap and time limit. */
export function sqlRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.post<{ Body: { sql: string } }>(
    '/v1/sql',
    {
      preHandler: requireRole(deps.auth, ['admin', 'analyst', 'scientist']),
      schema: {
        body: {
          type: 'object',
          required: ['sql'],
          additionalProperties: false,
          properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } },
        },
      },
    },
    async (req, reply) => {
      try {
        return await deps.warehouse.query(req.body.sql, deps.sql);
      } catch (err) {
        if (err instanceof QueryError) {
          const code = err.code === 'timeout' ? 408 : err.code === 'refused' ? 403 : 400;
          return reply.code(code).send({ error: err.code, message: err.message });
        }
        throw err;
      }
    },
  );
}
