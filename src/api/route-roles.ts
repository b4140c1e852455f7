/**
 * Who may call each HTTP route: the one table the routes read (`rolesFor`) and the auth test walks.
 * `public` routes need no token. Keys are `METHOD path` with Fastify's path syntax (`:id`).
 * Routes owned by other areas (jobs, quality) are listed here too so the test covers them when
 * they are registered; a route missing from this table fails the walk test.
 */
import type { Role } from '../auth/auth-store.js';

export type Access = Role[] | 'public';

const READERS: Role[] = ['admin', 'analyst', 'scientist'];

export const ROUTE_ROLES: Record<string, Access> = {
  'GET /healthz': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  // routes/web.ts: the dashboard's static files (its data calls use the API with a token)
  'GET /': 'public',
  'GET /web/*': 'public',
  'GET /v1/status': READERS,
  // routes/monitoring.ts: scraped by Prometheus and probed by orchestrators without a token (docs/monitoring.md)
  'GET /metrics': 'public',
  'GET /readyz': 'public',
  'GET /v1/accounting': READERS,
  'POST /v1/sql': READERS,
  'POST /v1/ingest': ['admin', 'device'],
  'POST /v1/ingest/senml': ['admin', 'device'],
  // sensorpipe import through a running server (docs/import.md)
  'POST /v1/ingest/import': ['admin'],
  'POST /api/v2/write': ['admin', 'device'],
  'GET /v1/readings': READERS,
  'GET /v1/sensors': READERS,
  'GET /v1/sensors/:id': READERS,
  'PUT /v1/sensors/:id': ['admin'],
  'GET /v1/quarantine': READERS,
  'POST /v1/quarantine/replay': ['admin'],
  'GET /v1/catalog': READERS,
  'GET /v1/quality': READERS,
  // routes/export.ts: feature datasets (docs/export.md)
  'GET /v1/export/features': READERS,
  // routes/jobs.ts (owned by the jobs area; it declares the same roles itself)
  'GET /v1/jobs': READERS,
  'GET /v1/jobs/history': READERS,
  'POST /v1/jobs/:name/run': ['admin'],
  // routes/alerts.ts (docs/alerting.md)
  'GET /v1/alerts': READERS,
  'POST /v1/alerts/test': ['admin'],
};

/** The roles allowed on a route; throws for a route missing from the table (so none is forgotten). */
export function rolesFor(method: string, path: string): Role[] {
  const a = ROUTE_ROLES[`${method} ${path}`];
  if (a === undefined) throw new Error(`route ${method} ${path} is missing from src/api/route-roles.ts`);
  if (a === 'public') throw new Error(`route ${method} ${path} is public; it takes no role check`);
  return a;
}

/** OpenAPI `security` entry for a route: bearer auth unless public. */
export function securityFor(method: string, path: string): Record<string, string[]>[] {
  return ROUTE_ROLES[`${method} ${path}`] === 'public' ? [] : [{ bearerAuth: [] }];
}

/** The `x-roles` and description suffix documenting a route's roles. */
export function rolesNote(method: string, path: string): string {
  const a = ROUTE_ROLES[`${method} ${path}`];
  return a === 'public' || a === undefined ? 'Public.' : `Roles: ${a.join(', ')}.`;
}

/** Standard error answer schema. */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  additionalProperties: true,
} as const;

/** The common response entries of an authenticated route. */
export function authResponses(): Record<string, unknown> {
  return { 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA };
}
