import type { FastifyInstance } from 'fastify';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

export function statusRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: rolesNote('GET', '/healthz'),
        tags: ['meta'],
        security: securityFor('GET', '/healthz'),
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/v1/status',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/status')),
      schema: {
        summary: 'Pipeline status: accounting (received = accepted + quarantined + rejected), spool, sinks',
        description: rolesNote('GET', '/v1/status'),
        tags: ['meta'],
        security: securityFor('GET', '/v1/status'),
        response: { 200: { type: 'object', additionalProperties: true }, ...authResponses() },
      },
    },
    async () => deps.status.status(),
  );
}
