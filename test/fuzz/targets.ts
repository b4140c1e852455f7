// Property-based fuzz targets (fast-check) for every payload decoder and for CSV import rows. One
// property for all of them: decoding never throws (bad data is a value), every outcome carries a
// reason from the catalogue (src/core/reasons.ts) and is not the decoders' last-resort "internal
// validation error", and every accepted reading is finite and well-formed.
// Run bounded in `npm test` (test/unit/fuzz-decoders.test.ts) and long via `npm run fuzz`.
import fc from 'fast-check';
import { isValidId } from '../../src/core/ids.js';
import { MemoryRegistry, type MetricSpec } from '../../src/core/registry.js';
import { isQuarantineReason } from '../../src/core/reasons.js';
import type { Message, Validated } from '../../src/core/types.js';
import { configSchema } from '../../src/config/schema.js';
import { validateMessage, type MessageScope, type ValidateContext } from '../../src/pipeline/validate.js';
import { validateNdjson } from '../../src/pipeline/decode/ndjson.js';
import { validateSenml } from '../../src/pipeline/decode/senml.js';
import { DEFAULT_LINE_PROTOCOL, validateLineProtocol } from '../../src/pipeline/decode/line-protocol.js';
import { validateImportRows } from '../../src/pipeline/decode/import-rows.js';
import { PAYLOAD_EXCERPT_MAX } from '../../src/pipeline/decode/describe.js';
import { mappingSchema } from '../../src/import/mapping.js';
import { RowMapper } from '../../src/import/rows.js';

export const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const NOW_S = NOW / 1000;

const metricDefaults: Record<string, MetricSpec> = {
  temperature: { unit: '°C', min: -60, max: 100 },
  humidity: { unit: '%', min: 0, max: 100 },
};

function context(policy: 'auto' | 'strict' = 'auto'): ValidateContext {
  const registry = new MemoryRegistry(policy, [{ sensorId: 'fz-1', location: null, type: null, expectedIntervalS: null, metrics: { ...metricDefaults } }]);
  return { registry, config: configSchema.parse({}).validation, metricDefaults, clock: { now: () => NOW } };
}

function message(payload: Buffer, topic = 'sensors/fz-1/telemetry'): Message {
  return { source: 'fuzz', topic, deviceId: null, receivedAt: NOW, payload };
}

/** Why a decode outcome breaks the contract, or null when it holds. */
export function contractProblem(v: Validated): string | null {
  if (v.readings.length === 0 && v.quarantined.length === 0) return 'no outcome at all';
  for (const q of v.quarantined) {
    if (!isQuarantineReason(q.reason)) return `reason ${q.reason} is not in the catalogue`;
    if (!q.detail) return `${q.reason} without a detail`;
    if (/internal validation error/.test(q.detail)) return `decoder bug caught by the guard: ${q.detail}`;
    if (q.payload.length > PAYLOAD_EXCERPT_MAX + 100) return `quarantined payload excerpt of ${q.payload.length} chars`;
    if (q.sensorId !== null && !isValidId(q.sensorId)) return `quarantine item with invalid sensor id ${JSON.stringify(q.sensorId)}`;
    if (q.metric !== null && !isValidId(q.metric)) return `quarantine item with invalid metric ${JSON.stringify(q.metric)}`;
  }
  for (const r of v.readings) {
    if (!Number.isFinite(r.value) || Math.abs(r.value) > Number.MAX_SAFE_INTEGER) return `accepted non-finite value ${r.value}`;
    if (!Number.isSafeInteger(r.ts)) return `accepted ts ${r.ts}`;
    if (r.ts > NOW + 300_000) return `accepted a future ts ${r.ts}`;
    if (!isValidId(r.sensorId) || !isValidId(r.metric)) return `accepted invalid ids ${r.sensorId}/${r.metric}`;
    if (r.seq !== null && !(Number.isSafeInteger(r.seq) && r.seq >= 0)) return `accepted seq ${r.seq}`;
  }
  return null;
}

// ---- generators ------------------------------------------------------------------------------

const oddStrings = fc.constantFrom('', '..', 'a/../b', 'a\u0000b', '\u0455ensor', 'x'.repeat(200), '21.4', 'NaN', 'Infinity', '-0', '__proto__', 'constructor', 'fz-1', 'other-1', 'temperature', 'humidity');
const id = fc.oneof(fc.constantFrom('fz-1', 'fz-2', 'temperature', 'humidity', 'co2'), oddStrings, fc.string({ maxLength: 12 }));
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 21.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 5e-324, 101, -61),
);
const scalar = fc.oneof(number, fc.boolean(), fc.constant(null), oddStrings, fc.string({ maxLength: 8 }));
const timestamp = fc.oneof(
  fc.constantFrom('2026-11-28T11:59:00Z', '2026-11-28T11:59:00', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'yesterday', ''),
  fc.integer({ min: 0, max: 2 * NOW }).map((ms) => new Date(Math.min(ms, 8.64e15)).toISOString()),
  fc.constantFrom(NOW_S - 60, NOW - 60_000, NOW * 1000, NOW * 1_000_000, -1, 1e300),
  fc.double(),
  scalar,
);

/** Raw bytes, mutated text and JSON values shaped like (and unlike) each format. */
function payloads(shaped: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  const json = shaped.map((v) => JSON.stringify(v) ?? 'null');
  const mutated = fc.tuple(json, fc.array(fc.tuple(fc.nat(), fc.constantFrom('', '{', '}', '[', ']', ',', ':', '"', '\\', 'NaN', '1e999', '\u0000', '\n', ' ')), { maxLength: 4 })).map(([s, edits]) => {
    for (const [at, ch] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      s = s.slice(0, i) + ch + s.slice(i + 1);
    }
    return s;
  });
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 3, arbitrary: json.map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: mutated.map((s) => Buffer.from(s)) },
  );
}

const readings = fc.dictionary(id, fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })), { maxKeys: 4 });
const spRecord = fc.oneof(
  fc.record({ sensor_id: id, ts: timestamp, seq: fc.oneof(fc.nat(), scalar), readings }, { requiredKeys: ['ts'] }),
  fc.tuple(fc.record({ sensor_id: id, ts: timestamp }, { requiredKeys: [] }), readings).map(([a, b]) => ({ ...b, ...a })),
);
const sensorpipeShape = fc.oneof(spRecord, fc.array(spRecord, { maxLength: 5 }));
/** Payloads for the MQTT front door: Sensorpipe JSON-ish, mutated and random bytes. */
export const mqttPayloads = payloads(sensorpipeShape);
/** Topic levels for the MQTT front door: valid ids and hostile ones (no wildcards: the corpus sends those raw). */
export const topicIds = id.filter((s) => !s.includes('+') && !s.includes('#'));

const senmlRecord = fc.record(
  { bn: fc.oneof(id.map((s) => `${s}/`), id), bt: timestamp, bu: fc.string({ maxLength: 4 }), bv: number, n: id, u: fc.string({ maxLength: 4 }), v: scalar, vs: scalar, vb: scalar, t: timestamp, s: scalar, ut: scalar, bver: scalar },
  { requiredKeys: [] },
);
const senmlShape = fc.array(senmlRecord, { maxLength: 5 });

const lpToken = fc.oneof(id, fc.constantFrom('m', 'cpu', 'sensor_id', 'host', '\\ ', '\\,', '"', '=', ',', ' '));
const lpValue = fc.oneof(
  number.map(String),
  fc.integer().map((i) => `${i}i`),
  fc.constantFrom('1e400', 'NaN', 'inf', 't', 'false', '"text"', '"unterminated', '9223372036854775808i', '-', ''),
);
const lpTime = fc.oneof(fc.constant(''), fc.constantFrom(` ${NOW_S - 60}`, ` ${NOW}`, ` ${NOW}000000`, ' -1', ' 1e9', ' 99999999999999999999'));
const lpLine = fc
  .tuple(lpToken, fc.array(fc.tuple(lpToken, lpToken), { maxLength: 3 }), fc.array(fc.tuple(lpToken, lpValue), { minLength: 0, maxLength: 3 }), lpTime)
  .map(([m, tags, fields, t]) => `${m}${tags.map(([k, v]) => `,${k}=${v}`).join('')} ${fields.map(([k, v]) => `${k}=${v}`).join(',')}${t}`);
const lineProtocol = fc.oneof(
  fc.array(fc.oneof(lpLine, fc.constantFrom('# comment', '', '   ')), { minLength: 1, maxLength: 6 }).map((l) => Buffer.from(l.join('\n'))),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
);

const ndjson = fc.oneof(
  fc.array(fc.oneof(spRecord.map((r) => JSON.stringify(r)), fc.string({ maxLength: 30 }), fc.constant('')), { minLength: 1, maxLength: 6 }).map((l) => Buffer.from(l.join('\n'))),
  payloads(spRecord),
);

const importLine = fc.oneof(
  fc.record({ at: fc.string({ maxLength: 20 }), record: fc.record({ sensor_id: id, ts: timestamp, readings }) }, { requiredKeys: [] }),
  fc.record({ at: fc.string({ maxLength: 20 }), problem: fc.record({ reason: fc.oneof(fc.constantFrom('bad_row', 'bad_timestamp', 'schema', 'auth_failed'), fc.string()), detail: scalar }), raw: scalar }, { requiredKeys: [] }),
  scalar,
);
const importRows = fc.oneof(
  fc.array(importLine.map((l) => JSON.stringify(l)), { minLength: 1, maxLength: 6 }).map((l) => Buffer.from(l.join('\n'))),
  payloads(importLine),
);

// ---- targets ---------------------------------------------------------------------------------

const scopes = fc.constantFrom<MessageScope>(
  { topicSensorId: 'fz-1' },
  { topicSensorId: null },
  { topicSensorId: null, owns: (s) => s.startsWith('fz') },
);
const policies = fc.constantFrom<'auto' | 'strict'>('auto', 'strict');

export interface FuzzTarget {
  name: string;
  /** A property: its predicate throws (assertion) when the decoder breaks its contract. */
  property: fc.IPropertyWithHooks<unknown[]> | fc.IProperty<unknown[]>;
}

function decoderTarget(name: string, data: fc.Arbitrary<Buffer>, decode: (m: Message, s: MessageScope, c: ValidateContext) => Validated): FuzzTarget {
  return {
    name,
    property: fc.property(data, scopes, policies, (payload, scope, policy) => {
      const v = decode(message(payload), scope, context(policy));
      const problem = contractProblem(v);
      if (problem) throw new Error(`${name}: ${problem}`);
    }) as fc.IProperty<unknown[]>,
  };
}

/** CSV import: the row mapper on random fields, then its entries through the import decoder. */
function csvTarget(): FuzzTarget {
  const mapping = mappingSchema.parse({
    timestamp: { columns: ['Date', 'Time'], format: 'dd/MM/yyyy HH.mm.ss', timezone: 'Europe/Rome' },
    sensor: { id: 'fz-1' },
    metrics: { 'CO(GT)': { name: 'co' }, T: { name: 'temperature' } },
    decimal: ',',
    missing: ['', '-200'],
  });
  const columns = ['Date', 'Time', 'CO(GT)', 'T'];
  const field = fc.oneof(
    fc.constantFrom('10/03/2004', '18.00.00', '31/02/2004', '2,6', '-200', '-200,0', '13,6', '1e400', 'NaN', '', ' ', '"', '29/03/2026', '02.30.00'),
    fc.string({ maxLength: 12 }),
  );
  return {
    name: 'csv-import',
    property: fc.property(fc.array(fc.array(field, { minLength: 0, maxLength: 6 }), { minLength: 1, maxLength: 5 }), policies, (rows, policy) => {
      const mapper = new RowMapper(mapping, columns, 'fuzz.csv');
      const lines: string[] = [];
      rows.forEach((fields, i) => {
        const out = mapper.fromFields(fields, i + 2, fields.join(';'));
        if (out.kind === 'entry') {
          if ('problem' in out.entry && !isQuarantineReason(out.entry.problem.reason)) throw new Error(`csv-import: reason ${out.entry.problem.reason}`);
          lines.push(JSON.stringify(out.entry));
        }
      });
      if (lines.length === 0) return;
      const v = validateImportRows(message(Buffer.from(lines.join('\n')), 'import:ndjson'), { topicSensorId: null }, context(policy));
      const problem = contractProblem(v);
      if (problem) throw new Error(`csv-import: ${problem}`);
    }) as fc.IProperty<unknown[]>,
  };
}

export const TARGETS: FuzzTarget[] = [
  decoderTarget('sensorpipe-json', payloads(sensorpipeShape), validateMessage),
  decoderTarget('ndjson', ndjson, validateNdjson),
  decoderTarget('senml', payloads(senmlShape), validateSenml),
  decoderTarget('line-protocol', lineProtocol, (m, s, c) => validateLineProtocol(m, s, c, { ...DEFAULT_LINE_PROTOCOL, precision: 'ns' })),
  decoderTarget('import-rows', importRows, validateImportRows),
  csvTarget(),
];

/** Replays one saved crash (test/fixtures/bad-input/fuzz/*.json) through its target's decoder. */
export function replayCrash(target: string, payloadBase64: string): string | null {
  const payload = Buffer.from(payloadBase64, 'base64');
  const ctx = context('auto');
  const decoders: Record<string, (m: Message) => Validated> = {
    'sensorpipe-json': (m) => validateMessage(m, { topicSensorId: 'fz-1' }, ctx),
    ndjson: (m) => validateNdjson(m, { topicSensorId: null }, ctx),
    senml: (m) => validateSenml(m, { topicSensorId: null }, ctx),
    'line-protocol': (m) => validateLineProtocol(m, { topicSensorId: null }, ctx, { ...DEFAULT_LINE_PROTOCOL, precision: 'ns' }),
    'import-rows': (m) => validateImportRows(m, { topicSensorId: null }, ctx),
  };
  const decode = decoders[target];
  if (!decode) return `unknown target ${target}`;
  return contractProblem(decode(message(payload)));
}
