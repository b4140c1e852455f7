import type { FastifyInstance } from 'fastify';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';

export function statusRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/v1/status', { preHandler: requireRole(deps.auth, ['admin', 'analyst', 'scientist']) }, async () => deps.status.status());
}
