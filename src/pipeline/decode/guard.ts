/**
 * The last-resort net every decoder shares: a bug in a decoder (or a throwing `owns` callback)
 * must not lose the message, so it becomes one `schema` item that says so. Same text as
 * ../validate.ts uses for Sensorpipe JSON.
 */
import { isUtf8 } from 'node:buffer';
import type { Message, Validated } from '../../core/types.js';
import { bytesExcerpt } from './describe.js';
import { firstInvalidUtf8 } from './sensorpipe-json.js';

export function guarded(message: Message, run: (out: Validated) => void): Validated {
  const out: Validated = { readings: [], quarantined: [] };
  try {
    run(out);
  } catch (err) {
    let payload = '';
    try {
      payload = bytesExcerpt(message.payload);
    } catch {
      payload = '';
    }
    const msg = err instanceof Error ? err.message : String(err);
    out.readings = [];
    out.quarantined = [
      {
        reason: 'schema',
        detail: `internal validation error (please report this as a Sensorpipe bug): ${msg.slice(0, 300)}`,
        sensorId: null,
        metric: null,
        ts: null,
        payload,
      },
    ];
  }
  return out;
}

/** Whole-payload checks shared by the text formats: size limit, empty, UTF-8. Null when the bytes are fine. */
export function payloadBytesProblem(
  payload: Buffer,
  maxBytes: number,
  format: string,
  reasons: { empty: 'invalid_json' | 'schema'; notUtf8: 'invalid_json' | 'schema' },
): { reason: 'payload_too_large' | 'invalid_json' | 'schema'; detail: string } | null {
  if (payload.length > maxBytes) {
    return {
      reason: 'payload_too_large',
      detail:
        `payload is ${payload.length} bytes; at most ${maxBytes} bytes are allowed per message ` +
        '(send fewer records per request)',
    };
  }
  if (payload.length === 0) return { reason: reasons.empty, detail: `payload is empty; expected ${format}` };
  if (!isUtf8(payload)) {
    const bad = firstInvalidUtf8(payload);
    return {
      reason: reasons.notUtf8,
      detail:
        'payload is not valid UTF-8' +
        (bad ? `: byte 0x${bad.byte.toString(16).padStart(2, '0')} at offset ${bad.offset} breaks the encoding` : '') +
        ` (${format} must be UTF-8 text)`,
    };
  }
  return null;
}
