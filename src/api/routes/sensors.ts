/**
 * GET /v1/sensors, GET /v1/sensors/:id: the registry as stored (sensors + sensor_metrics) with, per
 * metric, the readings count and last seen time. PUT /v1/sensors/:id (admin): creates or updates a
 * sensor; the given fields replace the stored ones, `metrics` entries replace those metrics (others
 * stay). The warehouse is written first (upsertSensor), then the in-memory registry validation
 * uses, so the next message is validated with the new limits.
 */
import type { FastifyInstance } from 'fastify';
import { isValidId } from '../../core/ids.js';
import type { MetricSpec, SensorSpec } from '../../core/registry.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

const METRIC_OUT = {
  type: 'object',
  properties: {
    metric: { type: 'string' },
    unit: { type: 'string', nullable: true },
    min: { type: 'number', nullable: true },
    max: { type: 'number', nullable: true },
    readings: { type: 'integer' },
    last_seen: { type: 'string', nullable: true },
  },
};
const SENSOR_OUT = {
  type: 'object',
  properties: {
    sensor_id: { type: 'string' },
    location: { type: 'string', nullable: true },
    type: { type: 'string', nullable: true },
    expected_interval_s: { type: 'number', nullable: true },
    last_seen: { type: 'string', nullable: true },
    last_received_at: { type: 'string', nullable: true },
    metrics: { type: 'array', items: METRIC_OUT },
  },
};
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 128 } } };

interface SeenRow {
  sensor_id: string;
  metric: string;
  n: number;
  last_ts: string | null;
  last_rx: string | null;
}

interface PutBody {
  location?: string | null;
  type?: string | null;
  expected_interval_s?: number | null;
  metrics?: Record<string, { unit?: string | null; min?: number | null; max?: number | null }>;
}

export function sensorsRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  async function seen(sensorId?: string): Promise<SeenRow[]> {
    const r = await deps.warehouse.query(
      `SELECT sensor_id, metric, count(*) AS n, max(ts) AS last_ts, max(received_at) AS last_rx FROM readings
       ${sensorId ? `WHERE sensor_id = '${sensorId}'` : ''} GROUP BY sensor_id, metric ORDER BY sensor_id, metric`,
      { maxRows: 1_000_000, timeoutMs: 60_000 },
    );
    return r.rows as unknown as SeenRow[];
  }
  function view(spec: SensorSpec, rows: SeenRow[]) {
    const mine = rows.filter((r) => r.sensor_id === spec.sensorId);
    const names = [...new Set([...Object.keys(spec.metrics), ...mine.map((r) => r.metric)])].sort();
    const maxOf = (xs: (string | null)[]) => xs.filter((x): x is string => x !== null).sort().at(-1) ?? null;
    return {
      sensor_id: spec.sensorId,
      location: spec.location,
      type: spec.type,
      expected_interval_s: spec.expectedIntervalS,
      last_seen: maxOf(mine.map((r) => r.last_ts)),
      last_received_at: maxOf(mine.map((r) => r.last_rx)),
      metrics: names.map((m) => {
        const s = spec.metrics[m];
        const r = mine.find((x) => x.metric === m);
        return { metric: m, unit: s?.unit ?? null, min: s?.min ?? null, max: s?.max ?? null, readings: r ? Number(r.n) : 0, last_seen: r?.last_ts ?? null };
      }),
    };
  }

  app.get(
    '/v1/sensors',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/sensors')),
      schema: {
        summary: 'The sensor registry with metrics and last seen',
        description: rolesNote('GET', '/v1/sensors'),
        tags: ['registry'],
        security: securityFor('GET', '/v1/sensors'),
        response: { 200: { type: 'object', properties: { sensors: { type: 'array', items: SENSOR_OUT } } }, ...authResponses() },
      },
    },
    async () => {
      const [specs, rows] = await Promise.all([deps.warehouse.loadRegistry(), seen()]);
      return { sensors: specs.map((s) => view(s, rows)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/sensors/:id',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/sensors/:id')),
      schema: {
        summary: 'One sensor with metrics and last seen',
        description: rolesNote('GET', '/v1/sensors/:id'),
        tags: ['registry'],
        security: securityFor('GET', '/v1/sensors/:id'),
        params: ID_PARAMS,
        response: { 200: SENSOR_OUT, ...authResponses(), 404: ERROR_SCHEMA },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      if (!isValidId(id)) return reply.code(400).send({ error: 'bad_request', message: `${JSON.stringify(id)} is not a valid sensor id` });
      const spec = (await deps.warehouse.loadRegistry()).find((s) => s.sensorId === id);
      if (!spec) return reply.code(404).send({ error: 'not_found', message: `no sensor "${id}" in the registry` });
      return view(spec, await seen(id));
    },
  );

  const nullableNumber = { type: 'number', nullable: true };
  const nullableString = { type: 'string', nullable: true, maxLength: 500 };
  app.put<{ Params: { id: string }; Body: PutBody }>(
    '/v1/sensors/:id',
    {
      preHandler: requireRole(deps.auth, rolesFor('PUT', '/v1/sensors/:id')),
      schema: {
        summary: 'Create or update a sensor (location, type, expected interval, per-metric unit/min/max)',
        description:
          rolesNote('PUT', '/v1/sensors/:id') +
          ' Given fields replace the stored ones; each entry of `metrics` replaces that metric (others stay). ' +
          'Updates the warehouse and the registry used by validation.',
        tags: ['registry'],
        security: securityFor('PUT', '/v1/sensors/:id'),
        params: ID_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            location: nullableString,
            type: nullableString,
            expected_interval_s: { type: 'number', nullable: true, exclusiveMinimum: 0 },
            metrics: {
              type: 'object',
              maxProperties: 1000,
              additionalProperties: {
                type: 'object',
                additionalProperties: false,
                properties: { unit: { type: 'string', nullable: true, maxLength: 64 }, min: nullableNumber, max: nullableNumber },
              },
            },
          },
        },
        response: { 200: SENSOR_OUT, 201: SENSOR_OUT, ...authResponses() },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const bad = (message: string) => reply.code(400).send({ error: 'bad_request', message });
      if (!isValidId(id)) return bad(`${JSON.stringify(id)} is not a valid sensor id`);
      const body = req.body ?? {};
      const existing = (await deps.warehouse.loadRegistry()).find((s) => s.sensorId === id);
      const spec: SensorSpec = existing
        ? { ...existing, metrics: { ...existing.metrics } }
        : { sensorId: id, location: null, type: null, expectedIntervalS: null, metrics: {} };
      if (body.location !== undefined) spec.location = body.location;
      if (body.type !== undefined) spec.type = body.type;
      if (body.expected_interval_s !== undefined) spec.expectedIntervalS = body.expected_interval_s;
      for (const [metric, m] of Object.entries(body.metrics ?? {})) {
        if (!isValidId(metric)) return bad(`${JSON.stringify(metric)} is not a valid metric name`);
        const before: MetricSpec = spec.metrics[metric] ?? { unit: null, min: null, max: null };
        const next: MetricSpec = {
          unit: m.unit !== undefined ? m.unit : before.unit,
          min: m.min !== undefined ? m.min : before.min,
          max: m.max !== undefined ? m.max : before.max,
        };
        if (next.min !== null && next.max !== null && next.min > next.max) return bad(`metric ${metric}: min ${next.min} is above max ${next.max}`);
        spec.metrics[metric] = next;
      }
      await deps.warehouse.upsertSensor(spec);
      deps.registry?.set(spec);
      return reply.code(existing ? 200 : 201).send(view(spec, await seen(id)));
    },
  );
}
