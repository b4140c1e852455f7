import type { FastifyInstance } from 'fastify';
import { QueryError } from '../../core/sinks.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

/** POST /v1/sql: one read-only SELECT, with the configured row cap and time limit. */
export function sqlRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.post<{ Body: { sql: string } }>(
    '/v1/sql',
    {
      preHandler: requireRole(deps.auth, rolesFor('POST', '/v1/sql')),
      schema: {
        summary: 'One read-only SELECT (no file or network access, row cap, time limit)',
        description: rolesNote('POST', '/v1/sql') + ' 403 = refused statement, 400 = invalid SQL, 408 = time limit.',
        tags: ['query'],
        security: securityFor('POST', '/v1/sql'),
        response: {
          200: {
            type: 'object',
            properties: {
              columns: { type: 'array', items: { type: 'string' } },
              rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
              truncated: { type: 'boolean' },
            },
          },
          ...authResponses(),
          408: ERROR_SCHEMA,
        },
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
