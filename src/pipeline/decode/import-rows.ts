/**
 * Import batches (`sensorpipe import`, docs/import.md): the payload is NDJSON written by
 * src/import/rows.ts, one line per imported row:
 *
 *   {"at": "file.csv:12", "record": {"sensor_id": "…", "ts": "…Z", "readings": {"co": 2.6}}}
 *   {"at": "file.csv:13", "problem": {"reason": "bad_row", "detail": "…"}, "raw": "the line as read"}
 *
 * A record is checked exactly like an element of a Sensorpipe JSON array (../validate.ts rule
 * table), with details naming `file.csv:12`. A problem line becomes one quarantine item with its
 * reason (only bad_row and bad_timestamp: what the importer finds before validation). Anything else
 * is one `schema` item for that line. The same decoder runs locally and behind
 * POST /v1/ingest/import, so both paths store the same. Never throws.
 */
import type { QuarantineReason } from '../../core/reasons.js';
import type { Message, Validated } from '../../core/types.js';
import { validateRecords, type MessageScope, type ValidateContext } from '../validate.js';
import { capText } from './describe.js';
import { guarded, payloadBytesProblem } from './guard.js';

/** Spool topic of import batches (the decoder is found by it when quarantine is replayed). */
export const IMPORT_TOPIC = 'import:ndjson';
/** Most lines in one import batch. */
export const MAX_IMPORT_LINES = 20_000;

const PROBLEM_REASONS = new Set(['bad_row', 'bad_timestamp']);

export function validateImportRows(message: Message, scope: MessageScope, ctx: ValidateContext): Validated {
  return guarded(message, (out) => run(message, scope, ctx, out));
}

function run(message: Message, scope: MessageScope, ctx: ValidateContext, out: Validated): void {
  const item = (reason: QuarantineReason, detail: string, payload: string): void => {
    out.quarantined.push({ reason, detail, sensorId: null, metric: null, ts: null, payload: capText(payload) });
  };
  const bad = payloadBytesProblem(message.payload, ctx.config.maxPayloadBytes, 'import rows (NDJSON)', { empty: 'invalid_json', notUtf8: 'invalid_json' });
  if (bad) return item(bad.reason, bad.detail, message.payload.toString('utf8', 0, 200));
  const lines = message.payload.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  // Every message must leave at least one item, or it would vanish from the accounting.
  if (lines.length === 0) return item('invalid_json', 'import batch has no lines: every line is blank; expected one JSON line per imported row', '');
  if (lines.length > MAX_IMPORT_LINES) return item('schema', `an import batch has ${lines.length} lines; at most ${MAX_IMPORT_LINES} are allowed`, lines[0]);

  // One clock reading for the whole batch, so every row is judged against the same window.
  const now = ctx.clock.now();
  const c: ValidateContext = { ...ctx, clock: { now: () => now } };
  const one: unknown[] = [undefined];
  for (let i = 0; i < lines.length; i++) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(lines[i]) as Record<string, unknown>;
    } catch {
      item('invalid_json', `import batch line ${i + 1} is not valid JSON`, lines[i]);
      continue;
    }
    const at = typeof e?.at === 'string' ? e.at : `import line ${i + 1}`;
    const p = e?.problem as { reason?: unknown; detail?: unknown } | undefined;
    if (p !== undefined) {
      if (typeof p !== 'object' || p === null || !PROBLEM_REASONS.has(String(p.reason)) || typeof p.detail !== 'string' || p.detail.trim() === '') {
        // An empty detail would leave the operator a quarantine row that explains nothing.
        item('schema', `${at}: an import problem must have reason bad_row or bad_timestamp and a non-empty detail`, lines[i]);
        continue;
      }
      item(p.reason as QuarantineReason, p.detail, typeof e.raw === 'string' ? e.raw : lines[i]);
      continue;
    }
    if (typeof e?.record !== 'object' || e.record === null) {
      item('schema', `${at}: an import line needs "record" or "problem"`, lines[i]);
      continue;
    }
    one[0] = e.record;
    validateRecords(one, scope, c, out, { isArray: true, label: () => at });
  }
}
