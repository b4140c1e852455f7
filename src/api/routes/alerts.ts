/**
 * Alerts (docs/alerting.md):
 *
 *   GET  /v1/alerts        current alerts (pending, firing, recently resolved), the state changes
 *                          (history, newest first), the notifiers' health, the rules in force
 *   POST /v1/alerts/test   sends a test notification through every notifier and answers how each
 *                          went (admin): to check a new notifier's URL without waiting for an alert
 */
import type { FastifyInstance } from 'fastify';
import type { AuthStore } from '../../auth/auth-store.js';
import type { AlertRulesConfig } from '../../alerting/config.js';
import type { AlertEvent, AlertInstance, GroupState } from '../../alerting/types.js';
import type { NotifierSet } from '../../core/notify.js';
import type { Clock, EpochMs } from '../../core/types.js';
import { requireRole } from '../auth-hook.js';
import { authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

/** What the route needs of the alerting runtime (`Alerting` provides it). */
export interface AlertsApi {
  manager: {
    current(): { enabled: boolean; evaluatedAt: EpochMs | null; lastError: string | null; alerts: AlertInstance[]; groups: GroupState[] };
    history(limit: number): Promise<AlertEvent[]>;
  };
  notifiers: NotifierSet;
  rules: AlertRulesConfig;
}

const iso = (ms: EpochMs | null) => (ms === null ? null : new Date(ms).toISOString());
const STATE_ORDER = { firing: 0, pending: 1, resolved: 2 } as const;

export function alertsRoutes(app: FastifyInstance, deps: { auth: AuthStore; alerts: AlertsApi; clock: Clock }): void {
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

  app.post(
    '/v1/alerts/test',
    {
      preHandler: requireRole(deps.auth, rolesFor('POST', '/v1/alerts/test')),
      schema: {
        summary: 'Send a test notification through every notifier',
        description: `${rolesNote('POST', '/v1/alerts/test')} Answers each notifier's result (ok, attempts, error) after its retries. See docs/alerting.md.`,
        tags: ['alerts'],
        security: securityFor('POST', '/v1/alerts/test'),
        response: { 200: { type: 'object', properties: { results: { type: 'array', items: anyObject } } }, ...authResponses() },
      },
    },
    async () => {
      const now = deps.clock.now();
      const sent = await deps.alerts.notifiers.broadcast({
        kind: 'test',
        title: 'Sensorpipe test notification',
        text: 'This is a test from POST /v1/alerts/test: this notifier is configured correctly.',
        severity: 'info',
        key: 'test',
        at: now,
        facts: [{ name: 'sent at', value: new Date(now).toISOString() }],
      });
      const kinds = new Map(deps.alerts.notifiers.notifiers.map((n) => [n.name, n.kind]));
      return { results: sent.map((s) => ({ name: s.name, kind: kinds.get(s.name), ...s.result })) };
    },
  );
}

/** Feeds POST /v1/sql durations to the query_latency rule (auth refusals are left out: they say nothing about the warehouse). */
export function recordSqlLatency(app: FastifyInstance, record: (ms: number) => void): void {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST' && req.routeOptions.url === '/v1/sql' && reply.statusCode !== 401 && reply.statusCode !== 403) record(reply.elapsedTime);
  });
}
