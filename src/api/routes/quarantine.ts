/**
 * GET /v1/quarantine?reason=&sensor=&from=&to=&limit=  quarantined items (newest first) and counts by reason.
 * POST /v1/quarantine/replay (admin)                   re-validate stored payloads with the current rules
 *                                                      and registry, and re-ingest them as new messages.
 *
 * Rows are named by DuckDB's `rowid` (`id`): quarantine rows are never deleted, so it is stable.
 * A replay decodes the stored `payload` with the decoder of its original topic
 * (src/pipeline/decode/formats.ts for HTTP topics, Sensorpipe JSON with the topic's sensor for MQTT
 * `sensors/<id>/telemetry`), sends it through the Ingestor (durable spool append, source `replay`,
 * same topic, so a row that is quarantined again can be replayed again), then sets `replayed_at` on
 * the original row. Rows already replayed are skipped (`already_replayed`): a replay never ingests
 * the same row twice. The stored payload is the offending part of the message (capped), so a replay
 * re-validates that part: a record cut by the cap stays quarantined (as invalid JSON).
 */
import type { FastifyInstance } from 'fastify';
import { isValidId } from '../../core/ids.js';
import { QueryError } from '../../core/sinks.js';
import { SpoolFullError } from '../../core/types.js';
import { decoderForTopic } from '../../pipeline/decode/formats.js';
import type { Decoder } from '../../pipeline/ingestor.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { ERROR_SCHEMA, authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';
import { ParamError, parseTime, tsSql } from '../tabular.js';

export const MAX_LIST = 1000;
export const MAX_REPLAY = 1000;
const REASON_RE = /^[a-z][a-z0-9_]{0,63}$/;
const MQTT_TOPIC_RE = /^sensors\/([^/]+)\/telemetry$/;

interface Filter {
  reason?: string;
  sensor?: string;
  from?: string;
  to?: string;
}

const ITEM = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    received_at: { type: 'string' },
    source: { type: 'string' },
    topic: { type: 'string', nullable: true },
    device_id: { type: 'string', nullable: true },
    sensor_id: { type: 'string', nullable: true },
    metric: { type: 'string', nullable: true },
    ts: { type: 'string', nullable: true },
    reason: { type: 'string' },
    detail: { type: 'string' },
    payload: { type: 'string' },
    detected_by: { type: 'string' },
    replayed_at: { type: 'string', nullable: true },
  },
};
const FILTER_PROPS = {
  reason: { type: 'string', maxLength: 64 },
  sensor: { type: 'string', maxLength: 128 },
  from: { type: 'string', description: 'received_at >= from (ISO-8601 or epoch ms)' },
  to: { type: 'string', description: 'received_at < to (ISO-8601 or epoch ms)' },
};

/** SQL conditions for a filter; throws ParamError on a bad value. Values are checked, then inlined. */
function conditions(f: Filter): string[] {
  const w: string[] = [];
  if (f.reason !== undefined) {
    if (!REASON_RE.test(f.reason)) throw new ParamError(`reason=${JSON.stringify(f.reason)} is not a reason code`);
    w.push(`reason = '${f.reason}'`);
  }
  if (f.sensor !== undefined) {
    if (!isValidId(f.sensor)) throw new ParamError(`sensor=${JSON.stringify(f.sensor)} is not a valid id`);
    w.push(`sensor_id = '${f.sensor}'`);
  }
  const from = parseTime('from', f.from);
  const to = parseTime('to', f.to);
  if (from !== undefined) w.push(`received_at >= ${tsSql(from)}`);
  if (to !== undefined) w.push(`received_at < ${tsSql(to)}`);
  return w;
}

const COLS = 'rowid AS id, received_at, source, topic, device_id, sensor_id, metric, ts, reason, detail, payload, detected_by, replayed_at';

export function quarantineRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  const q = (sql: string, maxRows = MAX_LIST) => deps.warehouse.query(sql, { maxRows, timeoutMs: Math.max(deps.sql.timeoutMs, 30_000) });
  const fail = (reply: { code(n: number): { send(b: unknown): unknown } }, err: unknown) => {
    if (err instanceof ParamError) return reply.code(400).send({ error: 'bad_request', message: err.message });
    if (err instanceof QueryError) return reply.code(err.code === 'timeout' ? 408 : 400).send({ error: err.code, message: err.message });
    throw err;
  };

  app.get<{ Querystring: Filter & { limit?: number } }>(
    '/v1/quarantine',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/quarantine')),
      schema: {
        summary: 'Quarantined items (newest first) with counts by reason',
        description: rolesNote('GET', '/v1/quarantine') + ' `id` names a row for POST /v1/quarantine/replay.',
        tags: ['quarantine'],
        security: securityFor('GET', '/v1/quarantine'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...FILTER_PROPS, limit: { type: 'integer', minimum: 1, maximum: MAX_LIST, default: 100 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              total: { type: 'integer' },
              counts: { type: 'object', additionalProperties: { type: 'integer' } },
              items: { type: 'array', items: ITEM },
              truncated: { type: 'boolean' },
            },
          },
          ...authResponses(),
        },
      },
    },
    async (req, reply) => {
      try {
        const w = conditions(req.query);
        const where = w.length ? `WHERE ${w.join(' AND ')}` : '';
        const counts = await q(`SELECT reason, count(*) AS n FROM quarantine ${where} GROUP BY reason ORDER BY reason`);
        const limit = req.query.limit ?? 100;
        const items = await q(`SELECT ${COLS} FROM quarantine ${where} ORDER BY received_at DESC, rowid DESC LIMIT ${limit}`, limit);
        const byReason: Record<string, number> = {};
        let total = 0;
        for (const r of counts.rows) {
          byReason[String(r.reason)] = Number(r.n);
          total += Number(r.n);
        }
        return { total, counts: byReason, items: items.rows, truncated: total > items.rows.length };
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  app.post<{ Body: { ids?: number[]; filter?: Filter; limit?: number } }>(
    '/v1/quarantine/replay',
    {
      preHandler: requireRole(deps.auth, rolesFor('POST', '/v1/quarantine/replay')),
      schema: {
        summary: 'Replay quarantined items with the current rules and registry',
        description:
          rolesNote('POST', '/v1/quarantine/replay') +
          ' Give `ids` (from GET /v1/quarantine) or a `filter` (rows not yet replayed). Each row is re-validated and re-ingested as a new message ' +
          '(source `replay`); the original row gets `replayed_at` and is kept. Outcome per row: accepted, quarantined (with reasons), partial, already_replayed, not_found.',
        tags: ['quarantine'],
        security: securityFor('POST', '/v1/quarantine/replay'),
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ids: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: MAX_REPLAY },
            filter: { type: 'object', additionalProperties: false, properties: FILTER_PROPS },
            limit: { type: 'integer', minimum: 1, maximum: MAX_REPLAY, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              replayed: { type: 'integer' },
              accepted: { type: 'integer' },
              quarantined: { type: 'integer' },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    outcome: { type: 'string', enum: ['accepted', 'quarantined', 'partial', 'already_replayed', 'not_found'] },
                    accepted: { type: 'integer' },
                    quarantined: { type: 'integer' },
                    reasons: { type: 'object', additionalProperties: { type: 'integer' } },
                    details: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
          ...authResponses(),
          503: ERROR_SCHEMA,
        },
      },
    },
    async (req, reply) => {
      const ingestor = deps.ingestor;
      if (!ingestor) return reply.code(503).send({ error: 'unavailable', message: 'this server has no ingestor; replay needs one' });
      const body = req.body ?? {};
      if ((body.ids === undefined) === (body.filter === undefined)) {
        return reply.code(400).send({ error: 'bad_request', message: 'give exactly one of `ids` (quarantine row ids) or `filter`' });
      }
      let rows: Record<string, unknown>[];
      const wanted = body.ids ? [...new Set(body.ids)] : null;
      try {
        if (wanted) {
          rows = (await q(`SELECT ${COLS} FROM quarantine WHERE rowid IN (${wanted.join(', ')}) ORDER BY rowid`, MAX_REPLAY)).rows;
        } else {
          const w = [...conditions(body.filter ?? {}), 'replayed_at IS NULL'];
          const limit = body.limit ?? 100;
          rows = (await q(`SELECT ${COLS} FROM quarantine WHERE ${w.join(' AND ')} ORDER BY rowid LIMIT ${limit}`, limit)).rows;
        }
      } catch (err) {
        return fail(reply, err);
      }
      const lp = deps.httpIngest?.lineProtocol;
      const results: Record<string, unknown>[] = [];
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      const order = wanted ?? rows.map((r) => Number(r.id));
      const now = () => (deps.clock ?? { now: () => Date.now() }).now();
      for (const id of order) {
        const row = byId.get(id);
        if (!row) {
          results.push({ id, outcome: 'not_found', accepted: 0, quarantined: 0, reasons: {}, details: [] });
          continue;
        }
        if (row.replayed_at !== null) {
          results.push({ id, outcome: 'already_replayed', accepted: 0, quarantined: 0, reasons: {}, details: [`replayed at ${String(row.replayed_at)}`] });
          continue;
        }
        const topic = row.topic === null ? '' : String(row.topic);
        const mqtt = MQTT_TOPIC_RE.exec(topic);
        const decode: Decoder | undefined = topic.startsWith('http:') ? (decoderForTopic(topic, { lineProtocol: lp }) ?? undefined) : undefined;
        const message = {
          source: 'replay',
          topic: topic || 'replay',
          deviceId: row.device_id === null ? null : String(row.device_id),
          receivedAt: now(),
          payload: Buffer.from(String(row.payload), 'utf8'),
        };
        let result;
        try {
          result = await ingestor.ingest(message, { topicSensorId: mqtt ? mqtt[1] : null }, decode);
        } catch (err) {
          if (err instanceof SpoolFullError) {
            return reply.code(503).header('retry-after', '5').send({ error: 'spool_full', message: `${err.message}; ${results.length} rows were replayed before it`, results });
          }
          throw err;
        }
        await deps.warehouse.jobTransaction((tx) => tx.run('UPDATE quarantine SET replayed_at = $1::TIMESTAMP WHERE rowid = $2', [new Date(now()).toISOString().replace('Z', ''), id]));
        const reasons: Record<string, number> = {};
        for (const it of result.quarantined) reasons[it.reason] = (reasons[it.reason] ?? 0) + 1;
        const a = result.readings.length;
        const qn = result.quarantined.length;
        results.push({
          id,
          outcome: qn === 0 && a > 0 ? 'accepted' : a === 0 ? 'quarantined' : 'partial',
          accepted: a,
          quarantined: qn,
          reasons,
          details: result.quarantined.slice(0, 10).map((it) => `${it.reason}: ${it.detail}`),
        });
      }
      const count = (o: string) => results.filter((r) => r.outcome === o).length;
      return { replayed: results.filter((r) => typeof r.accepted === 'number' && (r.outcome === 'accepted' || r.outcome === 'quarantined' || r.outcome === 'partial')).length, accepted: count('accepted'), quarantined: count('quarantined'), results };
    },
  );
}
