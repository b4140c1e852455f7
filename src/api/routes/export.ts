/**
 * GET /v1/export/features?sensors=a,b&metrics=x,y&from=&to=&resolution=1m|1h&fill=none|ffill|linear&maxGap=5h&format=parquet|csv|manifest
 *
 * The feature table of `sensorpipe export features` (src/export/features.ts, docs/export.md) as a
 * download; `format=manifest` answers the manifest JSON instead of the file. The grid is capped at
 * MAX_API_ROWS rows per request (the CLI has a higher cap and streams to disk).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { isValidId } from '../../core/ids.js';
import { QueryError } from '../../core/sinks.js';
import { exportFeatures, FeatureSpecError } from '../../export/features-export.js';
import { parseDuration, type Fill } from '../../export/features.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';
import { ParamError, parseTime } from '../tabular.js';

export const MAX_API_ROWS = 200_000;
const STEP: Record<string, number> = { '1m': 60_000, '1h': 3_600_000 };

interface Q {
  sensors: string;
  metrics: string;
  from: string;
  to: string;
  resolution?: '1m' | '1h';
  fill?: Fill;
  maxGap?: string;
  format?: 'parquet' | 'csv' | 'manifest';
}

export function exportRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  app.get<{ Querystring: Q }>(
    '/v1/export/features',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/export/features')),
      schema: {
        summary: 'Feature dataset: one row per time step, one column per sensor and metric, with flag and gap columns',
        description:
          rolesNote('GET', '/v1/export/features') +
          ' Point in time: a row at t uses readings with ts <= t (fill none/ffill); linear interpolation looks ahead. ' +
          `format=manifest answers the manifest (source window, row counts, schema, lineage, quality). At most ${MAX_API_ROWS} rows per request.`,
        tags: ['export'],
        security: securityFor('GET', '/v1/export/features'),
        querystring: {
          type: 'object',
          required: ['sensors', 'metrics', 'from', 'to'],
          additionalProperties: false,
          properties: {
            sensors: { type: 'string', description: 'comma-separated sensor ids' },
            metrics: { type: 'string', description: 'comma-separated metrics' },
            from: { type: 'string' },
            to: { type: 'string' },
            resolution: { type: 'string', enum: ['1m', '1h'], default: '1h' },
            fill: { type: 'string', enum: ['none', 'ffill', 'linear'], default: 'none' },
            maxGap: { type: 'string', description: 'e.g. 90s, 5m, 2h, 1d (default: 5 steps)' },
            format: { type: 'string', enum: ['parquet', 'csv', 'manifest'], default: 'parquet' },
          },
        },
        response: { 200: { description: 'application/vnd.apache.parquet, text/csv, or the manifest JSON', type: 'object', additionalProperties: true }, ...authResponses(), 408: ERROR_SCHEMA },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const resolution = q.resolution ?? '1h';
      const step = STEP[resolution];
      let spec;
      try {
        const sensors = q.sensors.split(',').filter((s) => s !== '');
        const metrics = q.metrics.split(',').filter((s) => s !== '');
        for (const id of [...sensors, ...metrics]) if (!isValidId(id)) throw new ParamError(`"${id}" is not a valid sensor id or metric name`);
        const from = parseTime('from', q.from)!;
        const to = parseTime('to', q.to)!;
        const maxGapMs = q.maxGap === undefined ? 5 * step : parseDuration(q.maxGap);
        if (!Number.isFinite(maxGapMs)) throw new ParamError(`maxGap=${JSON.stringify(q.maxGap)} is not a duration like 90s, 5m, 2h or 1d`);
        if ((to - from) / step > MAX_API_ROWS) throw new ParamError(`the grid would have more than ${MAX_API_ROWS} rows; shorten the range, use 1h, or use \`sensorpipe export features\``);
        spec = { sensors, metrics, from, to, resolutionMs: step, fill: q.fill ?? 'none', maxGapMs };
      } catch (err) {
        if (err instanceof ParamError) return reply.code(400).send({ error: 'bad_request', message: err.message });
        throw err;
      }
      const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-features-'));
      const format = q.format === 'csv' ? 'csv' : 'parquet';
      const out = join(dir, `features.${format}`);
      try {
        const manifest = await exportFeatures((sql) => deps.warehouse.query(sql, { maxRows: 100_000, timeoutMs: Math.max(deps.sql.timeoutMs, 30_000) }), spec, {
          format,
          out,
          origin: 'GET /v1/export/features',
          labels: { resolution, maxGap: q.maxGap ?? `${(5 * step) / 60_000}m` },
          now: (deps.clock ?? { now: () => Date.now() }).now(),
        });
        if (q.format === 'manifest') return { ...manifest, file: { ...manifest.file, path: `features.${format}` } };
        return reply
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.parquet')
          .header('content-disposition', `attachment; filename="features.${format}"`)
          .header('x-sensorpipe-rows', String(manifest.rowCounts.rows))
          .send(readFileSync(out));
      } catch (err) {
        if (err instanceof FeatureSpecError) return reply.code(400).send({ error: 'bad_request', message: err.message });
        if (err instanceof QueryError) return reply.code(err.code === 'timeout' ? 408 : 400).send({ error: err.code, message: err.message });
        throw err;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
