/**
 * GET /v1/alerts (docs/alerting.md): the current alerts (pending, firing, recently resolved), the
 * state changes (history, newest first), the notifiers' health, and the rules in force.
 */
import type { FastifyInstance } from 'fastify';
import type { AuthStore } from '../../auth/auth-store.js';
import type { AlertRulesConfig } from '../../alerting/config.js';
import type { AlertEvent, AlertInstance, GroupState } from '../../alerting/types.js';
import type { NotifierState } from '../../core/notify.js';
import type { EpochMs } from '../../core/types.js';
import { requireRole } from '../auth-hook.js';
import { authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

/** What the route needs of the alerting runtime (`Alerting` provides it). */
export interface AlertsApi {
  manager: {
    current(): { enabled: boolean; evaluatedAt: EpochMs | null; lastError: string | null; alerts: AlertInstance[]; groups: GroupState[] };
    history(limit: number): Promise<AlertEvent[]>;
  };
  notifiers: { states(): NotifierState[] };
  rules: AlertRulesConfig;
}

const iso = (ms: EpochMs | null) => (ms === null ? null : new Date(ms).toISOString());
const STATE_ORDER = { firing: 0, pending: 1, resolved: 2 } as const;

export function alertsRoutes(app: FastifyInstance, deps: { auth: AuthStore; alerts: AlertsApi }): void {
  const anyObject = { type: 'object', additionalProperties: true };
  app.get<{ Querystring: { state?: 'pending' | 'firing' | 'resolved'; history?: number } }>(
    '/v1/alerts',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/alerts')),
      schema: {
        summary: 'Alerts: current states, history of state changes, notifier health, rules',
        description: `${rolesNote('GET', '/v1/alerts')} \`state\` filters the current alerts; \`history\` = how many state changes (default 100). See docs/alerting.md.`,
        tags: ['alerts'],
        security: securityFor('GET', '/v1/alerts'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: ['pending', 'firing', 'resolved'] }, history: { type: 'integer', minimum: 0, maximum: 10000 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              enabled: { type: 'boolean' },
              evaluatedAt: { type: ['string', 'null'] },
              lastError: { type: ['string', 'null'] },
              counts: anyObject,
              alerts: { type: 'array', items: anyObject },
              history: { type: 'array', items: anyObject },
              notifiers: { type: 'array', items: anyObject },
              groups: { type: 'array', items: anyObject },
              rules: anyObject,
            },
          },
          ...authResponses(),
        },
      },
    },
    async (req) => {
      const cur = deps.alerts.manager.current();
      const n = req.query.history ?? 100;
      const history = n > 0 ? await deps.alerts.manager.history(n) : [];
      const all = [...cur.alerts].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.updatedAt - a.updatedAt);
      const counts = { firing: 0, pending: 0, resolved: 0 };
      for (const a of all) counts[a.state]++;
      return {
        enabled: cur.enabled,
        evaluatedAt: iso(cur.evaluatedAt),
        lastError: cur.lastError,
        counts,
        alerts: all
          .filter((a) => !req.query.state || a.state === req.query.state)
          .map((a) => ({ ...a, activeSince: iso(a.activeSince), firedAt: iso(a.firedAt), resolvedAt: iso(a.resolvedAt), updatedAt: iso(a.updatedAt) })),
        history: history.map((e) => ({ ...e, at: iso(e.at) })),
        notifiers: deps.alerts.notifiers.states().map((s) => ({ ...s, lastAttemptAt: iso(s.lastAttemptAt), lastSuccessAt: iso(s.lastSuccessAt) })),
        groups: cur.groups.map((g) => ({ ...g, notifiedAt: iso(g.notifiedAt) })),
        rules: deps.alerts.rules,
      };
    },
  );
}

/** Feeds POST /v1/sql durations to the query_latency rule (auth refusals are left out: they say nothing about the warehouse). */
export function recordSqlLatency(app: FastifyInstance, record: (ms: number) => void): void {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST' && req.routeOptions.url === '/v1/sql' && reply.statusCode !== 401 && reply.statusCode !== 403) record(reply.elapsedTime);
  });
}
