/**
 * Monitoring (docs/monitoring.md):
 *   GET /metrics         Prometheus text format (public, like /healthz)
 *   GET /readyz          200 when the sinks are reachable and the spool is below its limit, else 503 saying which check failed
 *   GET /v1/accounting   received = accepted + quarantined + rejected by source and reason, for any range
 */
import type { FastifyInstance } from 'fastify';
import { HOUR_MS, hourOf } from '../../sinks/warehouse/batch-plan.js';
import { accountingReport } from '../../pipeline/accounting-report.js';
import type { Readiness } from '../../observability/readiness.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';
import { ParamError, parseTime } from '../tabular.js';

/** What the monitoring routes read from the running instance. */
export interface MonitoringApi {
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<Readiness>;
  /** What the durable accounting does not hold yet: spool records not yet written, refusals the spool could not record. */
  notYetCounted(): Promise<{ spoolRecords: number; refusalsNotRecorded: { source: string; reason: string; items: number }[] }>;
}

const TOTALS = {
  type: 'object',
  properties: { received: { type: 'integer' }, accepted: { type: 'integer' }, quarantined: { type: 'integer' }, rejected: { type: 'integer' }, duplicates: { type: 'integer' } },
} as const;

export function monitoringRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  const mon = deps.monitoring;
  if (mon) {
    app.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics (text exposition format)',
          description: rolesNote('GET', '/metrics') + ' The metrics and their labels: docs/monitoring.md.',
          tags: ['meta'],
          security: securityFor('GET', '/metrics'),
          response: { 200: { type: 'string' } },
        },
      },
      async (_req, reply) => {
        const { contentType, body } = await mon.metrics();
        return reply.type(contentType).send(body);
      },
    );
    const CHECK = {
      type: 'object',
      properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' }, action: { type: 'string' } },
    } as const;
    const READY = { type: 'object', properties: { status: { type: 'string' }, checks: { type: 'array', items: CHECK } } } as const;
    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: warehouse answers, lake writable, spool below its limit, writer not failing',
          description: rolesNote('GET', '/readyz') + ' 503 names the failed check and what to do.',
          tags: ['meta'],
          security: securityFor('GET', '/readyz'),
          response: { 200: READY, 503: READY },
        },
      },
      async (_req, reply) => {
        const r = await mon.readiness();
        return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
      },
    );
  }

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/v1/accounting',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/accounting')),
      schema: {
        summary: 'Accounting: received = accepted + quarantined + rejected, by source and reason, over a time range',
        description:
          rolesNote('GET', '/v1/accounting') +
          ' from/to: ISO-8601 or epoch ms, by arrival time; counts are kept per hour, so the range covers the hours that overlap [from, to). Both optional (all time).',
        tags: ['meta'],
        security: securityFor('GET', '/v1/accounting'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { type: 'string' }, to: { type: 'string' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              from: { type: 'string', nullable: true },
              to: { type: 'string', nullable: true },
              totals: TOTALS,
              balanced: { type: 'boolean' },
              problems: { type: 'array', items: { type: 'string' } },
              bySource: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, ...TOTALS.properties } } },
              byReason: {
                type: 'array',
                items: { type: 'object', properties: { source: { type: 'string' }, outcome: { type: 'string' }, reason: { type: 'string' }, items: { type: 'integer' } } },
              },
              notYetCounted: { type: 'object', additionalProperties: true },
            },
          },
          ...authResponses(),
          400: ERROR_SCHEMA,
        },
      },
    },
    async (req, reply) => {
      let from: number | undefined;
      let to: number | undefined;
      try {
        from = parseTime('from', req.query.from);
        to = parseTime('to', req.query.to);
        if (from !== undefined && to !== undefined && !(from < to)) throw new ParamError('from must be before to');
      } catch (err) {
        if (err instanceof ParamError) return reply.code(400).send({ error: 'bad_request', message: err.message });
        throw err;
      }
      const report = accountingReport(await deps.warehouse.accounting({ from, to }));
      return {
        // The hours actually counted: from rounds down to its hour; an hour starting before `to` is included.
        from: from === undefined ? null : new Date(hourOf(from)).toISOString(),
        to: to === undefined ? null : new Date(hourOf(to) === to ? to : hourOf(to) + HOUR_MS).toISOString(),
        ...report,
        notYetCounted: mon
          ? { note: 'not in the counts above: spool records not yet written (counted once written), refusals the spool could not record (since process start)', ...(await mon.notYetCounted()) }
          : undefined,
      };
    },
  );
}
