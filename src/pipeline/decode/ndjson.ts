/**
 * NDJSON (`application/x-ndjson`): one Sensorpipe JSON record per line, for HTTP bulk writes.
 *
 * Each non-blank line is one record, checked exactly like an element of a Sensorpipe JSON array
 * (../validate.ts rule table); details name the line (`line 3: …`) instead of `record #2`.
 * Lines end with LF or CRLF; blank lines are skipped; a leading UTF-8 BOM is tolerated.
 *
 *  level    | condition                                                   | reason
 *  ---------+-------------------------------------------------------------+-------------------
 *  message  | payload > maxPayloadBytes                                   | payload_too_large
 *  message  | empty, not UTF-8, or no non-blank line                      | invalid_json
 *  message  | more than MAX_RECORDS non-blank lines                       | schema
 *  line     | not valid JSON (the other lines still count)                | invalid_json
 *  line     | a JSON value that is not an object                          | schema
 *  record   | everything else: as a Sensorpipe JSON record                | (rule table)
 *
 * Never throws.
 */
import type { Message, Validated } from '../../core/types.js';
import { validateRecords, type MessageScope, type ValidateContext } from '../validate.js';
import { bytesExcerpt, capText } from './describe.js';
import { guarded, payloadBytesProblem } from './guard.js';
import { MAX_RECORDS } from './sensorpipe-json.js';

export function validateNdjson(message: Message, scope: MessageScope, ctx: ValidateContext): Validated {
  return guarded(message, (out) => run(message, scope, ctx, out));
}

function run(message: Message, scope: MessageScope, ctx: ValidateContext, out: Validated): void {
  const payload = message.payload;
  const whole = (reason: 'payload_too_large' | 'invalid_json' | 'schema', detail: string): void => {
    out.quarantined.push({ reason, detail, sensorId: null, metric: null, ts: null, payload: bytesExcerpt(payload) });
  };
  const bad = payloadBytesProblem(payload, ctx.config.maxPayloadBytes, 'one JSON object per line (NDJSON)', {
    empty: 'invalid_json',
    notUtf8: 'invalid_json',
  });
  if (bad) return whole(bad.reason, bad.detail);

  const start = payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf ? 3 : 0;
  const lines = payload.toString('utf8', start).split('\n');
  let count = 0;
  for (const l of lines) if (l.trim() !== '') count++;
  if (count === 0) return whole('invalid_json', 'payload has no records: every line is blank; expected one JSON object per line');
  if (count > MAX_RECORDS) {
    return whole('schema', `payload has ${count} records (lines); at most ${MAX_RECORDS} records are allowed per request`);
  }

  // One clock reading for the whole message, so every line is judged against the same window.
  const now = ctx.clock.now();
  const c: ValidateContext = { ...ctx, clock: { now: () => now } };
  const one: unknown[] = [undefined];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (text.trim() === '') continue;
    const lineNo = i + 1;
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      out.quarantined.push({
        reason: 'invalid_json',
        detail:
          `line ${lineNo}: not valid JSON: ${msg.length > 200 ? msg.slice(0, 200) + '…' : msg}` +
          ' (each line must be one complete JSON object; NaN, Infinity and trailing commas are not JSON)',
        sensorId: null,
        metric: null,
        ts: null,
        payload: capText(text),
      });
      continue;
    }
    one[0] = rec;
    validateRecords(one, scope, c, out, { isArray: true, label: () => `line ${lineNo}` });
  }
}
