/**
 * GET /v1/quality?check=&sensor=&severity=&from=&to=&limit=   data-quality findings (quality_results),
 * newest window first, with counts by check and severity. `from`/`to` select windows that overlap
 * [from, to). The findings come from the quality jobs (src/quality, docs/quality.md).
 */
import type { FastifyInstance } from 'fastify';
import { isValidId } from '../../core/ids.js';
import { QueryError } from '../../core/sinks.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';
import { ParamError, parseTime, tsSql } from '../tabular.js';

const MAX_LIST = 1000;
const CHECK_RE = /^[a-z][a-z0-9_]{0,63}$/;
const SEVERITIES = ['info', 'warning', 'critical'];

interface Filter {
  check?: string;
  sensor?: string;
  severity?: string;
  from?: string;
  to?: string;
  limit?: number;
}

const ITEM = {
  type: 'object',
  properties: {
    check: { type: 'string' },
    sensor_id: { type: 'string', nullable: true },
    metric: { type: 'string', nullable: true },
    window_start: { type: 'string' },
    window_end: { type: 'string' },
    severity: { type: 'string' },
    observed: { type: 'number', nullable: true },
    expected: { type: 'number', nullable: true },
    detail: { type: 'string' },
    created_at: { type: 'string' },
  },
};

/** Values are validated against strict patterns, then inlined (the read-only gate takes one SELECT). */
function conditions(f: Filter): string[] {
  const w: string[] = [];
  if (f.check !== undefined) {
    if (!CHECK_RE.test(f.check)) throw new ParamError(`check=${JSON.stringify(f.check)} is not a check name (see docs/quality.md)`);
    w.push(`"check" = '${f.check}'`);
  }
  if (f.sensor !== undefined) {
    if (!isValidId(f.sensor)) throw new ParamError(`sensor=${JSON.stringify(f.sensor)} is not a valid id`);
    w.push(`sensor_id = '${f.sensor}'`);
  }
  if (f.severity !== undefined) {
    if (!SEVERITIES.includes(f.severity)) throw new ParamError(`severity must be one of ${SEVERITIES.join(', ')}`);
    w.push(`severity = '${f.severity}'`);
  }
  const from = parseTime('from', f.from);
  const to = parseTime('to', f.to);
  if (from !== undefined) w.push(`window_end > ${tsSql(from)}`);
  if (to !== undefined) w.push(`window_start < ${tsSql(to)}`);
  return w;
}

export function qualityRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.get<{ Querystring: Filter }>(
    '/v1/quality',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/quality')),
      schema: {
        summary: 'Data-quality findings, newest window first, with counts by check and severity',
        description: rolesNote('GET', '/v1/quality'),
        tags: ['quality'],
        security: securityFor('GET', '/v1/quality'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            check: { type: 'string', maxLength: 64 },
            sensor: { type: 'string', maxLength: 128 },
            severity: { type: 'string', enum: SEVERITIES },
            from: { type: 'string', description: 'windows ending after this (ISO-8601 or epoch ms)' },
            to: { type: 'string', description: 'windows starting before this (ISO-8601 or epoch ms)' },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIST, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              total: { type: 'integer' },
              counts: { type: 'array', items: { type: 'object', properties: { check: { type: 'string' }, severity: { type: 'string' }, n: { type: 'integer' } } } },
              items: { type: 'array', items: ITEM },
            },
          },
          ...authResponses(),
        },
      },
    },
    async (req, reply) => {
      const q = (sql: string, maxRows = MAX_LIST) => deps.warehouse.query(sql, { maxRows, timeoutMs: deps.sql.timeoutMs });
      try {
        const w = conditions(req.query);
        const where = w.length ? `WHERE ${w.join(' AND ')}` : '';
        const counts = await q(`SELECT "check", severity, count(*) AS n FROM quality_results ${where} GROUP BY "check", severity ORDER BY "check", severity`);
        const limit = req.query.limit ?? 100;
        const items = await q(
          `SELECT "check", sensor_id, metric, window_start, window_end, severity, observed, expected, detail, created_at
           FROM quality_results ${where} ORDER BY window_start DESC, "check", sensor_id, metric LIMIT ${limit}`,
          limit,
        );
        const total = counts.rows.reduce((n, r) => n + Number(r.n), 0);
        return { total, counts: counts.rows.map((r) => ({ check: r.check, severity: r.severity, n: Number(r.n) })), items: items.rows };
      } catch (err) {
        if (err instanceof ParamError) return reply.code(400).send({ error: 'bad_request', message: err.message });
        if (err instanceof QueryError) return reply.code(err.code === 'timeout' ? 408 : 400).send({ error: err.code, message: err.message });
        throw err;
      }
    },
  );
}
