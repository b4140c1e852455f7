/**
 * GET /v1/readings?sensor=&metric=&from=&to=&resolution=auto|raw|1m|1h|1d&format=json|csv|parquet
 *
 * Defaults: to = now, from = to - 24 h, resolution auto, format json. `metric` omitted = every metric.
 * `auto` picks the coarsest resolution that still gives at least MIN_POINTS buckets over the range
 * (1d, then 1h, then 1m), else raw. An aggregate level is read from its table (readings_1m/1h/1d,
 * written by the jobs) up to where the jobs computed it (`aggregate_state.covered_until`; without
 * that state, the table when it has rows for the range), and the rest of the range (or all of it,
 * when the table does not exist yet) is aggregated from raw readings on the fly with the same
 * columns. `source` says which was used.
 */
import type { FastifyInstance } from 'fastify';
import { isValidId } from '../../core/ids.js';
import { QueryError } from '../../core/sinks.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';
import { ParamError, parseTime, toCsv, toParquet, tsSql, type ColumnType } from '../tabular.js';

export const MIN_POINTS = 300;
/** Most rows one request returns (`truncated` says more existed). */
export const MAX_POINTS = 100_000;
const DAY = 86_400_000;
const BUCKET_MS = { '1m': 60_000, '1h': 3_600_000, '1d': DAY } as const;
type Level = keyof typeof BUCKET_MS;
type Resolution = Level | 'raw';
const TRUNC: Record<Level, string> = { '1m': 'minute', '1h': 'hour', '1d': 'day' };

/** The coarsest level giving at least MIN_POINTS buckets over [from, to), else raw. */
export function autoResolution(from: number, to: number): Resolution {
  for (const l of ['1d', '1h', '1m'] as Level[]) if ((to - from) / BUCKET_MS[l] >= MIN_POINTS) return l;
  return 'raw';
}

const RAW_COLS: { name: string; type: ColumnType }[] = [
  { name: 'sensor_id', type: 'VARCHAR' },
  { name: 'metric', type: 'VARCHAR' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'value', type: 'DOUBLE' },
];
const AGG_COLS: { name: string; type: ColumnType }[] = [
  { name: 'sensor_id', type: 'VARCHAR' },
  { name: 'metric', type: 'VARCHAR' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'count', type: 'BIGINT' },
  { name: 'min', type: 'DOUBLE' },
  { name: 'max', type: 'DOUBLE' },
  { name: 'avg', type: 'DOUBLE' },
  { name: 'sum', type: 'DOUBLE' },
  { name: 'first', type: 'DOUBLE' },
  { name: 'last', type: 'DOUBLE' },
];

interface Q {
  sensor: string;
  metric?: string;
  from?: string;
  to?: string;
  resolution?: 'auto' | Resolution;
  format?: 'json' | 'csv' | 'parquet';
}

export function readingsRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  const run = (sql: string) => deps.warehouse.query(sql, { maxRows: MAX_POINTS, timeoutMs: Math.max(deps.sql.timeoutMs, 30_000) });
  app.get<{ Querystring: Q }>(
    '/v1/readings',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/readings')),
      schema: {
        summary: 'Readings of one sensor over a time range, raw or aggregated, as JSON, CSV or Parquet',
        description:
          rolesNote('GET', '/v1/readings') +
          ` from/to: ISO-8601 or epoch ms (default: the last 24 h). auto = coarsest of 1d/1h/1m giving >= ${MIN_POINTS} points, else raw.`,
        tags: ['query'],
        security: securityFor('GET', '/v1/readings'),
        querystring: {
          type: 'object',
          required: ['sensor'],
          additionalProperties: false,
          properties: {
            sensor: { type: 'string', maxLength: 128 },
            metric: { type: 'string', maxLength: 128 },
            from: { type: 'string' },
            to: { type: 'string' },
            resolution: { type: 'string', enum: ['auto', 'raw', '1m', '1h', '1d'], default: 'auto' },
            format: { type: 'string', enum: ['json', 'csv', 'parquet'], default: 'json' },
          },
        },
        response: {
          200: {
            description: 'JSON (below), text/csv, or application/vnd.apache.parquet',
            type: 'object',
            properties: {
              sensor: { type: 'string' },
              metric: { type: 'string', nullable: true },
              from: { type: 'string' },
              to: { type: 'string' },
              resolution: { type: 'string' },
              source: { type: 'string' },
              columns: { type: 'array', items: { type: 'string' } },
              points: { type: 'array', items: { type: 'object', additionalProperties: true } },
              truncated: { type: 'boolean' },
            },
          },
          ...authResponses(),
          408: ERROR_SCHEMA,
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      let from: number, to: number;
      try {
        if (!isValidId(q.sensor)) throw new ParamError(`sensor=${JSON.stringify(q.sensor)} is not a valid id`);
        if (q.metric !== undefined && !isValidId(q.metric)) throw new ParamError(`metric=${JSON.stringify(q.metric)} is not a valid id`);
        to = parseTime('to', q.to) ?? (deps.clock ?? { now: () => Date.now() }).now();
        from = parseTime('from', q.from) ?? to - DAY;
        if (!(from < to)) throw new ParamError('from must be before to');
      } catch (err) {
        if (err instanceof ParamError) return reply.code(400).send({ error: 'bad_request', message: err.message });
        throw err;
      }
      const resolution: Resolution = !q.resolution || q.resolution === 'auto' ? autoResolution(from, to) : q.resolution;
      const where = (tsCol: string, lo: number, hi: number) =>
        `sensor_id = '${q.sensor}'${q.metric ? ` AND metric = '${q.metric}'` : ''} AND ${tsCol} >= ${tsSql(lo)} AND ${tsCol} < ${tsSql(hi)}`;
      let sql: string;
      let source: string;
      let cols = AGG_COLS;
      try {
        if (resolution === 'raw') {
          cols = RAW_COLS;
          source = 'readings';
          sql = `SELECT sensor_id, metric, ts, value FROM readings WHERE ${where('ts', from, to)} ORDER BY metric, ts`;
        } else {
          const table = `readings_${resolution}`;
          const tables = await run(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('${table}', 'aggregate_state')`);
          const names = new Set(tables.rows.map((r) => String(r.table_name)));
          // How far the jobs computed this level: buckets before it come from the table, the rest
          // is aggregated from raw readings on the fly (same columns), so a chart is never cut short.
          let split = from; // [from, split) from the table, [split, to) on the fly
          if (names.has(table)) {
            let covered: number | null = null;
            if (names.has('aggregate_state')) {
              const st = await run(`SELECT covered_until FROM aggregate_state WHERE level = '${resolution}'`);
              const c = st.rows[0]?.covered_until;
              covered = typeof c === 'string' ? Date.parse(c) : null;
            }
            if (covered === null) {
              const n = await run(`SELECT count(*) AS n FROM ${table} WHERE ${where('bucket', from, to)}`);
              if (Number(n.rows[0]?.n) > 0) split = to;
            } else {
              split = Math.min(to, Math.max(from, covered));
            }
          }
          const parts: string[] = [];
          const fromTable = split > from;
          const onTheFly = split < to;
          if (fromTable) {
            parts.push(`SELECT sensor_id, metric, bucket AS ts, count, min, max, avg, sum, first, last FROM ${table} WHERE ${where('bucket', from, split)}`);
          }
          if (onTheFly) {
            const unit = TRUNC[resolution];
            parts.push(
              `SELECT sensor_id, metric, date_trunc('${unit}', ts) AS ts, count(*) AS count, min(value) AS min, max(value) AS max, ` +
                `avg(value) AS avg, sum(value) AS sum, ${deps.warehouse.dialect.firstBy('value', 'ts')} AS first, ${deps.warehouse.dialect.lastBy('value', 'ts')} AS last ` +
                `FROM readings WHERE ${where('ts', split, to)} GROUP BY sensor_id, metric, date_trunc('${unit}', ts)`,
            );
          }
          source = !onTheFly ? table : !fromTable ? 'readings (aggregated on the fly)' : `${table} until ${new Date(split).toISOString()}, then readings (aggregated on the fly)`;
          sql = `SELECT * FROM (${parts.join(' UNION ALL ')}) AS r ORDER BY metric, ts`;
        }
        const result = await run(sql);
        const names = cols.map((c) => c.name);
        const format = q.format ?? 'json';
        if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(toCsv(names, result.rows));
        if (format === 'parquet') {
          return reply
            .type('application/vnd.apache.parquet')
            .header('content-disposition', `attachment; filename="${q.sensor}-${resolution}.parquet"`)
            .send(await toParquet(cols, result.rows));
        }
        return {
          sensor: q.sensor,
          metric: q.metric ?? null,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          resolution,
          source,
          columns: names,
          points: result.rows,
          truncated: result.truncated,
        };
      } catch (err) {
        if (err instanceof QueryError) {
          return reply.code(err.code === 'timeout' ? 408 : 400).send({ error: err.code, message: err.message });
        }
        throw err;
      }
    },
  );
}
