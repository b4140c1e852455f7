/**
 * HTTP payload formats and the spool topics that record them. An HTTP request is stored as one
 * Message whose topic says which endpoint and format it came in, so the message can be decoded
 * again later (quarantine replay) exactly as it was the first time:
 *
 *   topic                               | format                  | decoder
 *   ------------------------------------+-------------------------+------------------------------
 *   http:/v1/ingest                     | Sensorpipe JSON         | validateMessage (../validate.ts)
 *   http:/v1/ingest?format=ndjson       | NDJSON                  | validateNdjson (./ndjson.ts)
 *   http:/v1/ingest/senml               | SenML JSON (RFC 8428)   | validateSenml (./senml.ts)
 *   http:/api/v2/write?precision=<p>    | InfluxDB line protocol  | validateLineProtocol (./line-protocol.ts)
 *   import:ndjson                       | import rows (NDJSON)    | validateImportRows (./import-rows.ts)
 *
 * The payload stored is the request body after gzip decompression. Line protocol also depends on
 * http.lineProtocol (sensor tags, passthrough measurements), read from the config at decode time.
 */
import type { Decoder } from '../ingestor.js';
import { validateMessage } from '../validate.js';
import { DEFAULT_LINE_PROTOCOL, PRECISIONS, validateLineProtocol, type LineProtocolOptions, type Precision } from './line-protocol.js';
import { IMPORT_TOPIC, validateImportRows } from './import-rows.js';
import { validateNdjson } from './ndjson.js';
import { validateSenml } from './senml.js';

export type HttpFormat = 'json' | 'ndjson' | 'senml' | 'line-protocol' | 'import';

export function httpTopic(format: HttpFormat, precision: Precision = 'ns'): string {
  switch (format) {
    case 'json':
      return 'http:/v1/ingest';
    case 'ndjson':
      return 'http:/v1/ingest?format=ndjson';
    case 'senml':
      return 'http:/v1/ingest/senml';
    case 'line-protocol':
      return `http:/api/v2/write?precision=${precision}`;
    case 'import':
      return IMPORT_TOPIC;
  }
}

/**
 * The decoder for an HTTP message's topic. `maxPayloadBytes` replaces validation.maxPayloadBytes
 * (HTTP bodies are bounded by http.maxBodyBytes / maxDecompressedBytes instead); null for a topic
 * that is not an HTTP ingest topic.
 */
export function decoderForTopic(
  topic: string,
  opts: { lineProtocol?: Omit<LineProtocolOptions, 'precision'>; maxPayloadBytes?: number } = {},
): Decoder | null {
  const withLimit =
    (d: Decoder): Decoder =>
    (m, scope, ctx) =>
      d(m, scope, opts.maxPayloadBytes === undefined ? ctx : { ...ctx, config: { ...ctx.config, maxPayloadBytes: opts.maxPayloadBytes } });
  if (topic === 'http:/v1/ingest') return withLimit(validateMessage);
  if (topic === 'http:/v1/ingest?format=ndjson') return withLimit(validateNdjson);
  if (topic === 'http:/v1/ingest/senml') return withLimit(validateSenml);
  if (topic === IMPORT_TOPIC) return withLimit(validateImportRows);
  const lp = /^http:\/api\/v2\/write\?precision=(ns|us|ms|s)$/.exec(topic);
  if (lp) {
    const precision = lp[1] as Precision;
    const lpOpts: LineProtocolOptions = { ...DEFAULT_LINE_PROTOCOL, ...opts.lineProtocol, precision };
    return withLimit((m, scope, ctx) => validateLineProtocol(m, scope, ctx, lpOpts));
  }
  return null;
}

export { PRECISIONS, type Precision };
