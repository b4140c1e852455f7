/**
 * HTTP ingest (docs/http-ingest.md):
 *   POST /v1/ingest          Sensorpipe JSON (application/json) or NDJSON (application/x-ndjson)
 *   POST /v1/ingest/senml    SenML JSON, RFC 8428 (application/senml+json or application/json)
 *   POST /api/v2/write       InfluxDB line protocol, answered like InfluxDB 2 (204, {code, message})
 *
 * Order of the checks, so that nothing is read, inflated or stored for a request that will be refused:
 *   onRequest  auth (401/403; device tokens must name an existing device), query parameters (400),
 *              content type and encoding (415), Content-Length over http.maxBodyBytes (413)
 *   parsing    the body, bounded on the wire and after gzip (413), broken gzip (400), empty (400)
 *   handler    decode + validate + durable spool append, then 2xx; SpoolFullError -> 503 with
 *              Retry-After; any other storage error -> 500 (never 2xx)
 * Each request is one spool Message (source `http`, topic from src/pipeline/decode/formats.ts,
 * deviceId from a device token), so accounting and quarantine work as for MQTT. Refusals (401, 403,
 * 400, 413, 415, 503) are recorded as rejected with a reason code, like the MQTT broker's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { AuthStore } from '../../auth/auth-store.js';
import type { RejectReason } from '../../core/reasons.js';
import { SpoolFullError, type Clock, type Logger, type QuarantineItem } from '../../core/types.js';
import type { Decoder, Ingestor } from '../../pipeline/ingestor.js';
import { decoderForTopic, httpTopic, type HttpFormat } from '../../pipeline/decode/formats.js';
import { PRECISIONS, type Precision } from '../../pipeline/decode/line-protocol.js';
import { callerOf, requireRole } from '../auth-hook.js';
import { BodyError, readBody } from '../body-reader.js';
import { ERROR_SCHEMA, rolesFor, rolesNote, securityFor } from '../route-roles.js';

export interface IngestDeps {
  auth: AuthStore;
  ingestor: Ingestor;
  clock: Clock;
  logger: Logger;
  http: {
    maxBodyBytes: number;
    maxDecompressedBytes: number;
    lineProtocol: { sensorTags: string[]; passthroughMeasurements: string[] };
  };
}

/** Seconds a client should wait after a 503 (spool full) before retrying. */
export const RETRY_AFTER_S = 5;
/** Most quarantine items listed in a /v1/ingest answer (the counts are always complete). */
export const MAX_ITEMS_IN_RESPONSE = 100;

/** How an endpoint answers errors: Sensorpipe `{error, message}` or InfluxDB `{code, message}`. */
export type ErrorStyle = 'sensorpipe' | 'influx';

const INFLUX_CODES: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'request too large',
  415: 'unsupported media type',
  500: 'internal error',
  503: 'unavailable',
};
const SENSORPIPE_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  500: 'storage_failed',
  503: 'spool_full',
};

export function errorBody(style: ErrorStyle, status: number, message: string): object {
  return style === 'influx'
    ? { code: INFLUX_CODES[status] ?? 'internal error', message }
    : { error: SENSORPIPE_CODES[status] ?? 'error', message };
}

/** InfluxDB 2 error answer `{code, message}` (the order InfluxDB sends). */
const INFLUX_ERROR_SCHEMA = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  additionalProperties: true,
} as const;

const REJECT_BY_STATUS: Record<number, RejectReason> = {
  400: 'bad_request',
  401: 'auth_failed',
  403: 'not_authorized',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  503: 'spool_full',
};

/** Per-request state set by the onRequest checks. */
interface IngestState {
  format: HttpFormat;
  precision: Precision;
  gzip: boolean;
  owns: ((sensorId: string) => boolean) | undefined;
  deviceId: string | null;
  style: ErrorStyle;
  topic: string;
  detail: string;
}

const STATE = Symbol('sensorpipe.ingest');
type WithState = FastifyRequest & { [STATE]?: IngestState };

function stateOf(req: FastifyRequest): IngestState | undefined {
  return (req as WithState)[STATE];
}

/** `type/subtype` and charset of a Content-Type header (lower case), or null when absent. */
function mediaType(header: string | undefined): { type: string; charset: string | null } | null {
  if (header === undefined || header.trim() === '') return null;
  const [type, ...params] = header.split(';');
  let charset: string | null = null;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v !== undefined) charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { type: type.trim().toLowerCase(), charset };
}

interface Endpoint {
  url: string;
  /** Message source in the accounting (default `http`). */
  source?: string;
  style: ErrorStyle;
  /** Content type -> format; `null` key: no Content-Type header. */
  types: Map<string | null, HttpFormat>;
  accepted: string;
}

const ENDPOINTS: Endpoint[] = [
  {
    url: '/v1/ingest',
    style: 'sensorpipe',
    types: new Map<string | null, HttpFormat>([
      ['application/json', 'json'],
      ['application/x-ndjson', 'ndjson'],
      ['application/ndjson', 'ndjson'],
    ]),
    accepted: 'application/json (Sensorpipe JSON) or application/x-ndjson (one JSON record per line); SenML goes to /v1/ingest/senml',
  },
  {
    url: '/v1/ingest/senml',
    style: 'sensorpipe',
    types: new Map<string | null, HttpFormat>([
      ['application/senml+json', 'senml'],
      ['application/json', 'senml'],
    ]),
    accepted: 'application/senml+json (or application/json); SenML CBOR/XML/EXI are not supported',
  },
  {
    // `sensorpipe import` with a server running: NDJSON import rows (src/pipeline/decode/import-rows.ts)
    url: '/v1/ingest/import',
    source: 'import',
    style: 'sensorpipe',
    types: new Map<string | null, HttpFormat>([['application/x-ndjson', 'import']]),
    accepted: 'application/x-ndjson import rows as written by `sensorpipe import`',
  },
  {
    url: '/api/v2/write',
    style: 'influx',
    // InfluxDB reads any body as line protocol; these are what agents and curl send.
    types: new Map<string | null, HttpFormat>([
      ['text/plain', 'line-protocol'],
      [null, 'line-protocol'],
      ['application/octet-stream', 'line-protocol'],
      ['application/x-www-form-urlencoded', 'line-protocol'],
    ]),
    accepted: 'text/plain; charset=utf-8 (InfluxDB line protocol)',
  },
];

export function ingestRoutes(app: FastifyInstance, deps: IngestDeps): void {
  const log = deps.logger.child({ component: 'http-ingest' });
  const limits = { maxBodyBytes: deps.http.maxBodyBytes, maxDecompressedBytes: deps.http.maxDecompressedBytes };
  // HTTP bodies are bounded by the limits above; the per-message MQTT limit does not apply to them.
  const maxPayloadBytes = Math.max(limits.maxBodyBytes, limits.maxDecompressedBytes);
  const decoders = new Map<string, Decoder>();
  const decoderFor = (topic: string): Decoder => {
    let d = decoders.get(topic);
    if (!d) {
      d = decoderForTopic(topic, { lineProtocol: deps.http.lineProtocol, maxPayloadBytes })!;
      decoders.set(topic, d);
    }
    return d;
  };

  void app.register(async (scope) => {
    // Ingest reads raw bytes itself (limits, gzip); JSON is parsed by the decoders.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (req, payload, done) => {
      const st = stateOf(req);
      readBody(payload, st?.gzip ?? false, limits).then(
        (r) => done(null, r.body),
        (err: Error) => done(err, undefined),
      );
    });

    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      const style = stateOf(req)?.style ?? (req.url.startsWith('/api/v2/') ? 'influx' : 'sensorpipe');
      let status = err instanceof BodyError ? err.statusCode : (err.statusCode ?? 500);
      if (status >= 500) {
        log.error({ err, url: req.url }, 'ingest request failed');
        status = 500;
        return reply.code(500).send(errorBody(style, 500, 'internal error while reading the request; see the server log'));
      }
      const st = stateOf(req);
      if (st) st.detail = err.message;
      return reply.code(status).send(errorBody(style, status, err.message));
    });

    // Refusals are counted like the broker's (received = accepted + quarantined + rejected), and
    // recorded before the answer leaves, so a client that got its 4xx/503 finds it in the accounting.
    scope.addHook('onSend', async (req, reply, payload) => {
      const reason = REJECT_BY_STATUS[reply.statusCode];
      if (!reason) return payload;
      const st = stateOf(req);
      const url = req.routeOptions.url ?? req.url.split('?')[0];
      await deps.ingestor.reject({
        source: url === '/v1/ingest/import' ? 'import' : 'http',
        topic: st?.topic ?? `http:${url}`,
        deviceId: st?.deviceId ?? callerOf(req)?.deviceId ?? null,
        reason,
        detail: `HTTP ${reply.statusCode} on POST ${url}${st?.detail ? `: ${st.detail}` : ''}`.slice(0, 500),
      });
      return payload;
    });

    for (const ep of ENDPOINTS) {
      const auth = requireRole(deps.auth, rolesFor('POST', ep.url), {
        tokenScheme: ep.style === 'influx',
        errorBody: (status, message) => errorBody(ep.style, status, message),
        tokenHint: '`sensorpipe tokens create --role device --device <device-id>`',
      });
      const gate = async (req: FastifyRequest, reply: FastifyReply) => {
        const refuse = (status: 400 | 403 | 413 | 415, message: string) => {
          const st = stateOf(req);
          if (st) st.detail = message;
          else (req as WithState)[STATE] = { ...blankState(ep), detail: message };
          // The body is left unread: close the connection rather than read it.
          return reply.code(status).header('connection', 'close').send(errorBody(ep.style, status, message));
        };
        const caller = callerOf(req)!;
        const st: IngestState = blankState(ep);
        st.deviceId = caller.deviceId;
        (req as WithState)[STATE] = st;

        if (caller.role === 'device') {
          if (caller.deviceId === null) {
            return refuse(
              403,
              'this device token is not tied to a device, so it may write no sensor; create one with ' +
                '`sensorpipe tokens create --role device --device <device-id>`',
            );
          }
          const device = deps.auth.getDevice(caller.deviceId);
          if (!device) return refuse(403, `device "${caller.deviceId}" of this token no longer exists`);
          const sensors = new Set(device.sensors);
          st.owns = (s) => sensors.has(s);
        }

        if (ep.style === 'influx') {
          const q = req.query as Record<string, unknown>;
          const p = q.precision;
          if (p !== undefined) {
            if (typeof p !== 'string' || !PRECISIONS.includes(p as Precision)) {
              return refuse(400, `precision ${JSON.stringify(p)} is not one of ${PRECISIONS.join(', ')}`);
            }
            st.precision = p as Precision;
          }
        }

        const ct = mediaType(req.headers['content-type']);
        const format = ep.types.get(ct === null ? null : ct.type);
        if (format === undefined) {
          return refuse(
            415,
            ct === null
              ? `a Content-Type header is required: ${ep.accepted}`
              : `Content-Type ${ct.type} is not read here; send ${ep.accepted}`,
          );
        }
        if (ct?.charset && ct.charset !== 'utf-8' && ct.charset !== 'utf8') {
          return refuse(415, `charset ${ct.charset} is not supported; bodies must be UTF-8`);
        }
        st.format = format;
        st.topic = httpTopic(format, st.precision);

        const enc = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
        if (enc === 'gzip' || enc === 'x-gzip') st.gzip = true;
        else if (enc !== '' && enc !== 'identity') {
          return refuse(415, `Content-Encoding ${enc} is not supported; send gzip or no encoding`);
        }

        const len = Number(req.headers['content-length']);
        if (len > limits.maxBodyBytes) {
          return refuse(413, `the request body (${len} bytes) is over http.maxBodyBytes (${limits.maxBodyBytes} bytes); send smaller batches`);
        }
      };

      const answer = {
        type: 'object',
        additionalProperties: true,
        properties: {
          accepted: { type: 'integer' },
          quarantined: { type: 'integer' },
          reasons: { type: 'object', additionalProperties: { type: 'integer' } },
          items: { type: 'array', items: { type: 'object', additionalProperties: true } },
          itemsTruncated: { type: 'boolean' },
          offset: { type: 'integer' },
        },
      };
      const schema: FastifySchema = {
        summary: `Ingest: ${ep.accepted}`,
        description:
          rolesNote('POST', ep.url) +
          ' The body is raw (optionally Content-Encoding: gzip); 2xx only after the durable spool write. ' +
          '413 over the body limit, 415 for an unknown content type, 503 with Retry-After when the spool is full.',
        tags: ['ingest'],
        security: securityFor('POST', ep.url),
        ...(ep.style === 'influx'
          ? { querystring: { type: 'object', additionalProperties: true, properties: { precision: { type: 'string', enum: [...PRECISIONS] }, org: { type: 'string' }, bucket: { type: 'string' } } } }
          : {}),
        response: {
          ...(ep.style === 'influx' ? { 204: { type: 'null', description: 'written' } } : { 200: answer }),
          ...Object.fromEntries([400, 401, 403, 413, 415, 500, 503].map((c) => [c, ep.style === 'influx' ? INFLUX_ERROR_SCHEMA : ERROR_SCHEMA])),
        },
      };
      scope.post(ep.url, { onRequest: [auth, gate], schema }, async (req, reply) => {
        const st = stateOf(req)!;
        const body = req.body;
        if (!Buffer.isBuffer(body) || body.length === 0) {
          st.detail = 'empty body';
          return reply.code(400).send(errorBody(st.style, 400, 'the request body is empty; send at least one reading'));
        }
        const message = { source: ep.source ?? 'http', topic: st.topic, deviceId: st.deviceId, receivedAt: deps.clock.now(), payload: body };
        let result;
        try {
          result = await deps.ingestor.ingest(message, { topicSensorId: null, owns: st.owns }, decoderFor(st.topic));
        } catch (err) {
          if (err instanceof SpoolFullError) {
            st.detail = err.message;
            log.warn({ topic: st.topic, deviceId: st.deviceId }, `refused: ${err.message}`);
            return reply
              .code(503)
              .header('retry-after', String(RETRY_AFTER_S))
              .send(errorBody(st.style, 503, `${err.message}; retry in ${RETRY_AFTER_S} s`));
          }
          log.error({ err, topic: st.topic, deviceId: st.deviceId }, 'could not store an HTTP request durably; answering 500, nothing acknowledged');
          const why = err instanceof Error ? err.message : String(err);
          return reply
            .code(500)
            .send(
              errorBody(
                st.style,
                500,
                `could not store the request durably (${why.slice(0, 300)}); nothing was acknowledged, retry later. ` +
                  'Operator: check the disk under the data directory and the server log.',
              ),
            );
        }
        const reasons: Record<string, number> = {};
        for (const q of result.quarantined) reasons[q.reason] = (reasons[q.reason] ?? 0) + 1;
        if (st.style === 'influx') {
          // InfluxDB answers 204 with no body; bad lines are quarantined (kept, with their reason), not lost.
          return reply
            .code(204)
            .header('x-sensorpipe-accepted', String(result.readings.length))
            .header('x-sensorpipe-quarantined', String(result.quarantined.length))
            .send();
        }
        return reply.code(200).send({
          accepted: result.readings.length,
          quarantined: result.quarantined.length,
          reasons,
          items: result.quarantined.slice(0, MAX_ITEMS_IN_RESPONSE).map(itemJson),
          itemsTruncated: result.quarantined.length > MAX_ITEMS_IN_RESPONSE,
          offset: result.lastOffset,
        });
      });
    }
  });
}

function blankState(ep: Endpoint): IngestState {
  const format = ep.types.values().next().value as HttpFormat;
  return { format, precision: 'ns', gzip: false, owns: undefined, deviceId: null, style: ep.style, topic: httpTopic(format), detail: '' };
}

function itemJson(q: QuarantineItem) {
  return {
    reason: q.reason,
    detail: q.detail,
    sensorId: q.sensorId,
    metric: q.metric,
    ts: q.ts === null ? null : new Date(q.ts).toISOString(),
  };
}
