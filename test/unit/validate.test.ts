import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateMessage, type MessageScope, type ValidateContext } from '../../src/pipeline/validate.js';
import { MAX_RECORDS } from '../../src/pipeline/decode/sensorpipe-json.js';
import { PAYLOAD_EXCERPT_MAX } from '../../src/pipeline/decode/describe.js';
import { MemoryRegistry, type MetricSpec } from '../../src/core/registry.js';
import { isQuarantineReason, type QuarantineReason } from '../../src/core/reasons.js';
import { isValidId } from '../../src/core/ids.js';
import type { Message, Validated } from '../../src/core/types.js';
import type { ValidationConfig } from '../../src/config/schema.js';
import { createRng } from '../../src/sim/prng.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z, the fixed fake clock
const ISO = '2024-05-01T11:59:00Z';
const TS = NOW - 60_000;

const baseConfig: ValidationConfig = {
  maxPayloadBytes: 4096,
  maxFutureSkewS: 300,
  minTimestamp: '2000-01-01T00:00:00Z',
  unknownSensorPolicy: 'auto',
  epochUnit: 'auto',
};
const metricDefaults: Record<string, MetricSpec> = {
  temperature: { unit: '°C', min: -60, max: 100 },
  humidity: { unit: '%', min: 0, max: 100 },
};

function registry(policy: 'auto' | 'strict' = 'auto'): MemoryRegistry {
  return new MemoryRegistry(policy, [
    {
      sensorId: 'gh-1',
      location: 'greenhouse',
      type: 'climate',
      expectedIntervalS: 60,
      metrics: {
        temperature: { unit: '°C', min: -10, max: 50 },
        co2: { unit: 'ppm', min: 0, max: null },
      },
    },
  ]);
}

interface Opts {
  policy?: 'auto' | 'strict';
  config?: Partial<ValidationConfig>;
}

function ctx(opts: Opts = {}): ValidateContext {
  return {
    registry: registry(opts.policy),
    config: { ...baseConfig, ...opts.config },
    metricDefaults,
    clock: { now: () => NOW },
  };
}

function message(payload: string | Buffer, source = 'mqtt'): Message {
  return {
    source,
    topic: 'sensors/gh-1/telemetry',
    deviceId: 'dev-1',
    receivedAt: NOW,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  };
}

const MQTT: MessageScope = { topicSensorId: 'gh-1' };
const HTTP: MessageScope = { topicSensorId: null };

function run(payload: string | Buffer | object, scope: MessageScope = MQTT, opts: Opts = {}): Validated {
  const p = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  return validateMessage(message(p), scope, ctx(opts));
}

// ------------------------------------------------------------------------------------------
// valid messages

test('valid nested single object', () => {
  const v = run({ ts: ISO, seq: 7, readings: { temperature: 21.4, humidity: 45 } });
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(v.readings, [
    { sensorId: 'gh-1', metric: 'temperature', ts: TS, value: 21.4, seq: 7 },
    { sensorId: 'gh-1', metric: 'humidity', ts: TS, value: 45, seq: 7 },
  ]);
});

test('valid flat single object, sensor_id equal to the topic, no seq', () => {
  const v = run({ sensor_id: 'gh-1', ts: ISO, temperature: -3.5, co2: 412 });
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(v.readings, [
    { sensorId: 'gh-1', metric: 'temperature', ts: TS, value: -3.5, seq: null },
    { sensorId: 'gh-1', metric: 'co2', ts: TS, value: 412, seq: null },
  ]);
});

test('valid array mixing nested and flat records and timestamp forms', () => {
  const v = run([
    { ts: '2024-05-01T13:59:00+02:00', seq: 1, readings: { temperature: 20 } },
    { ts: TS / 1000, seq: 2, temperature: 20.5 },
    { ts: TS + 1000, seq: 3, temperature: 21 },
    { ts: (TS + 2000) * 1000 + 999, seq: 4, readings: { temperature: 21.5 } },
    { ts: '2024-05-01T11:59:04.123456Z', seq: null, humidity: 50 },
  ]);
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(
    v.readings.map((r) => [r.ts, r.seq, r.metric, r.value]),
    [
      [TS, 1, 'temperature', 20],
      [TS, 2, 'temperature', 20.5],
      [TS + 1000, 3, 'temperature', 21],
      [TS + 2000, 4, 'temperature', 21.5],
      [TS + 4123, null, 'humidity', 50],
    ],
  );
});

test('HTTP scope without topic: sensor_id from each record; owns() allows', () => {
  const owns = (s: string) => s === 'gh-1' || s === 'gh-2';
  const v = run(
    [
      { sensor_id: 'gh-1', ts: ISO, temperature: 20 },
      { sensor_id: 'gh-2', ts: ISO, readings: { humidity: 40 } },
    ],
    { topicSensorId: null, owns },
  );
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(
    v.readings.map((r) => [r.sensorId, r.metric]),
    [
      ['gh-1', 'temperature'],
      ['gh-2', 'humidity'],
    ],
  );
});

test('a leading UTF-8 BOM is tolerated; metric names with . _ : - are fine', () => {
  const v = run(`\uFEFF{"ts":"${ISO}","pm2.5":3,"soil_moisture:top-10cm":0.31}`);
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(
    v.readings.map((r) => r.metric),
    ['pm2.5', 'soil_moisture:top-10cm'],
  );
});

test('explicit epoch units and minTimestamp/skew from config', () => {
  const secs = run({ ts: TS / 1000, temperature: 1 }, MQTT, { config: { epochUnit: 's' } });
  assert.equal(secs.readings[0].ts, TS);
  const ms = run({ ts: TS, temperature: 1 }, MQTT, { config: { epochUnit: 'ms' } });
  assert.equal(ms.readings[0].ts, TS);
  const wrongUnit = run({ ts: TS, temperature: 1 }, MQTT, { config: { epochUnit: 's' } });
  assert.equal(wrongUnit.quarantined[0].reason, 'future_timestamp');
  const old = run({ ts: ISO, temperature: 1 }, MQTT, { config: { minTimestamp: '2024-06-01T00:00:00Z' } });
  assert.equal(old.quarantined[0].reason, 'bad_timestamp');
  assert.match(old.quarantined[0].detail, /before validation\.minTimestamp 2024-06-01T00:00:00Z/);
  const skew0 = run({ ts: NOW + 1, temperature: 1 }, MQTT, { config: { maxFutureSkewS: 0 } });
  assert.equal(skew0.quarantined[0].reason, 'future_timestamp');
  const atLimit = run({ ts: NOW + 300_000, temperature: 1 });
  assert.equal(atLimit.readings.length, 1);
});

test('range limits: bounds are inclusive; min-only/max-only; prototype names find no limits', () => {
  const v = run({ ts: ISO, temperature: 50, co2: 1e9, humidity: 0 });
  assert.equal(v.readings.length, 3);
  const w = run({ ts: ISO, constructor: 5, toString: 1, __proto__x: 1 }, { topicSensorId: 'new-1' });
  assert.deepEqual(
    w.readings.map((r) => r.metric),
    ['constructor', 'toString'],
  );
  assert.equal(w.quarantined.length, 1);
  assert.equal(w.quarantined[0].reason, 'invalid_id'); // "__proto__x" starts with "_"
});

// ------------------------------------------------------------------------------------------
// every reason code, realistic examples

interface Case {
  name: string;
  payload: string | Buffer | object;
  scope?: MessageScope;
  opts?: Opts;
  reason: QuarantineReason;
  detail: RegExp[];
  metric?: string | null;
  sensorId?: string | null;
  /** Expected readings accepted next to the one quarantined item. */
  accepted?: number;
}

const cases: Case[] = [
  {
    name: 'payload over the size limit',
    payload: JSON.stringify({ ts: ISO, temperature: 1, pad: 'x'.repeat(5000) }),
    reason: 'payload_too_large',
    detail: [/payload is 50\d\d bytes/, /maxPayloadBytes allows at most 4096 bytes/],
    sensorId: 'gh-1',
  },
  {
    name: 'truncated JSON',
    payload: `{"ts":"${ISO}","temperature":21.`,
    reason: 'invalid_json',
    detail: [/not valid JSON/],
  },
  {
    name: 'NaN literal',
    payload: `{"ts":"${ISO}","temperature":NaN}`,
    reason: 'invalid_json',
    detail: [/not valid JSON/, /NaN, Infinity/],
  },
  {
    name: 'not UTF-8',
    payload: Buffer.from([0x7b, 0x22, 0x74, 0xff, 0x22, 0x7d]),
    reason: 'invalid_json',
    detail: [/not valid UTF-8/, /byte 0xff at offset 3/],
  },
  { name: 'empty payload', payload: '', reason: 'invalid_json', detail: [/payload is empty/] },
  { name: 'top level is a number', payload: '42', reason: 'schema', detail: [/payload is a number/, /one object or an array/] },
  { name: 'top level is null', payload: 'null', reason: 'schema', detail: [/payload is null/] },
  { name: 'empty array', payload: '[]', reason: 'schema', detail: [/empty array/] },
  {
    name: 'too many records',
    payload: '[' + Array(MAX_RECORDS + 1).fill('{}').join(',') + ']',
    opts: { config: { maxPayloadBytes: 1 << 20 } },
    reason: 'schema',
    detail: [new RegExp(`array of ${MAX_RECORDS + 1} records`), new RegExp(`at most ${MAX_RECORDS}`)],
  },
  {
    name: 'array element not an object',
    payload: `[{"ts":"${ISO}","temperature":1},"oops"]`,
    reason: 'schema',
    detail: [/record #1 is a string/, /must be an object/],
    accepted: 1,
  },
  {
    name: 'record without metrics (flat)',
    payload: { ts: ISO, seq: 1 },
    reason: 'schema',
    detail: [/no metrics/],
    metric: null,
  },
  { name: 'readings empty', payload: { ts: ISO, readings: {} }, reason: 'schema', detail: [/"readings" is empty/] },
  {
    name: 'readings is an array',
    payload: { ts: ISO, readings: [21.4] },
    reason: 'schema',
    detail: [/"readings" is an array/, /mapping metric names to numbers/],
  },
  { name: 'readings is null', payload: { ts: ISO, readings: null }, reason: 'schema', detail: [/"readings" is null/] },
  {
    name: 'negative seq',
    payload: { ts: ISO, seq: -1, temperature: 1 },
    reason: 'schema',
    detail: [/"seq" is the number -1/, /integer from 0 to 9007199254740991/],
  },
  { name: 'fractional seq', payload: { ts: ISO, seq: 1.5, temperature: 1 }, reason: 'schema', detail: [/"seq" is the number 1.5/] },
  { name: 'seq as string', payload: { ts: ISO, seq: '7', temperature: 1 }, reason: 'schema', detail: [/"seq" is the string "7"/] },
  {
    name: 'nested metric value',
    payload: { ts: ISO, readings: { temperature: { value: 21.4, unit: 'C' }, humidity: 40 } },
    reason: 'schema',
    detail: [/metric "temperature"/, /is an object/, /single JSON number/],
    metric: 'temperature',
    accepted: 1,
  },
  {
    name: 'array metric value',
    payload: { ts: ISO, temperature: [21.4, 21.5] },
    reason: 'schema',
    detail: [/metric "temperature"/, /an array/],
    metric: 'temperature',
  },
  {
    name: 'metric key next to readings',
    payload: { ts: ISO, readings: { temperature: 20 }, battery: 3.1 },
    reason: 'schema',
    detail: [/key "battery" is next to "readings"/],
    metric: 'battery',
    accepted: 1,
  },
  {
    name: 'HTTP record without sensor_id',
    payload: { ts: ISO, temperature: 20 },
    scope: HTTP,
    reason: 'schema',
    detail: [/no "sensor_id"/],
    sensorId: null,
  },
  {
    name: 'sensor_id is a number',
    payload: { sensor_id: 42, ts: ISO, temperature: 20 },
    scope: HTTP,
    reason: 'schema',
    detail: [/"sensor_id" is the number 42/, /must be a string/],
  },
  {
    name: 'null value',
    payload: { ts: ISO, temperature: null, humidity: 40 },
    reason: 'non_finite',
    detail: [/metric "temperature"/, /value is null/],
    metric: 'temperature',
    accepted: 1,
  },
  {
    name: 'numeric string value',
    payload: { ts: ISO, temperature: '21.4' },
    reason: 'non_finite',
    detail: [/the string "21.4"/, /send 21.4 without quotes/],
    metric: 'temperature',
  },
  {
    name: 'string "NaN" value',
    payload: { ts: ISO, temperature: 'NaN' },
    reason: 'non_finite',
    detail: [/the string "NaN"/, /finite/],
    metric: 'temperature',
  },
  {
    name: 'boolean value',
    payload: { ts: ISO, door_open: true },
    reason: 'non_finite',
    detail: [/metric "door_open"/, /the boolean true/, /1 or 0/],
    metric: 'door_open',
  },
  {
    name: 'overflowing literal 1e400',
    payload: `{"ts":"${ISO}","energy":1e400}`,
    reason: 'non_finite',
    detail: [/metric "energy"/, /overflows/, /Infinity/],
    metric: 'energy',
  },
  {
    name: 'integer beyond 2^53',
    payload: `{"ts":"${ISO}","counter":9007199254740993,"temperature":20}`,
    reason: 'non_finite',
    detail: [/metric "counter"/, /9007199254740992 is beyond ±2\^53/, /precision would be lost/],
    metric: 'counter',
    accepted: 1,
  },
  {
    name: 'metric name with a space and a degree sign',
    payload: { ts: ISO, 'temp °C': 20, humidity: 40 },
    reason: 'invalid_id',
    detail: [/metric name "temp °C"/, /character " " at position 4/],
    metric: null,
    accepted: 1,
  },
  {
    name: 'metric name too long',
    payload: { ts: ISO, ['m' + 'x'.repeat(200)]: 1 },
    reason: 'invalid_id',
    detail: [/201 characters long \(at most 128\)/],
    metric: null,
  },
  {
    name: 'invalid sensor_id over HTTP',
    payload: { sensor_id: '../etc/passwd', ts: ISO, temperature: 1 },
    scope: HTTP,
    reason: 'invalid_id',
    detail: [/sensor_id "..\/etc\/passwd"/, /must start with a letter or digit/],
    sensorId: null,
  },
  {
    name: 'invalid topic sensor id',
    payload: { ts: ISO, temperature: 1 },
    scope: { topicSensorId: 'a b' },
    reason: 'invalid_id',
    detail: [/topic names sensor "a b"/],
    sensorId: null,
  },
  {
    name: 'ISO time without zone',
    payload: { ts: '2024-05-01T11:59:00', temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/ts "2024-05-01T11:59:00"/, /no time zone/, /"Z"/],
  },
  {
    name: 'missing ts with a "timestamp" field',
    payload: { timestamp: ISO, temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/no "ts"/, /found "timestamp"/],
  },
  { name: 'missing ts', payload: { temperature: 1 }, reason: 'bad_timestamp', detail: [/no "ts"/, /ISO-8601/] },
  {
    name: 'epoch uptime counter',
    payload: { ts: 86400, temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/ts 86400/, /uptime counter/],
  },
  {
    name: 'ambiguous epoch magnitude',
    payload: { ts: 5e11, temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/ambiguous magnitude/, /validation\.epochUnit/],
  },
  {
    name: 'negative epoch',
    payload: { ts: -1714564800, temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/negative/],
  },
  {
    name: 'clock never set (1970)',
    payload: { ts: '1970-01-01T00:05:00Z', temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/1970-01-01T00:05:00.000Z/, /before validation\.minTimestamp 2000-01-01T00:00:00Z/],
  },
  {
    name: 'ts is a boolean',
    payload: { ts: true, temperature: 1 },
    reason: 'bad_timestamp',
    detail: [/ts is a boolean/],
  },
  {
    name: 'future beyond skew',
    payload: { ts: '2024-05-01T12:05:01Z', temperature: 1 },
    reason: 'future_timestamp',
    detail: [/2024-05-01T12:05:01.000Z/, /301\.0 s ahead/, /allows 300 s/],
  },
  {
    name: 'epoch ms sent where seconds are configured',
    payload: { ts: NOW, temperature: 1 },
    opts: { config: { epochUnit: 's' } },
    reason: 'future_timestamp',
    detail: [/ahead of the server clock/, /epoch unit/],
  },
  {
    name: 'above registered maximum',
    payload: { ts: ISO, temperature: 60, co2: 400 },
    reason: 'out_of_range',
    detail: [/metric "temperature" = 60/, /above the maximum 50 °C registered for sensor "gh-1"/, /-10 .. 50 °C/],
    metric: 'temperature',
    accepted: 1,
  },
  {
    name: 'below registered minimum',
    payload: { ts: ISO, co2: -1 },
    reason: 'out_of_range',
    detail: [/metric "co2" = -1 is below the minimum 0 ppm/, /0 .. \+∞ ppm/],
    metric: 'co2',
  },
  {
    name: 'auto sensor outside metric defaults',
    payload: { ts: ISO, humidity: 120 },
    scope: { topicSensorId: 'new-sensor' },
    reason: 'out_of_range',
    detail: [/metric "humidity" = 120 is above the maximum 100 %/, /registry\.metricDefaults/, /"new-sensor"/],
    metric: 'humidity',
    sensorId: 'new-sensor',
  },
  {
    name: 'known sensor, metric it does not list: defaults apply',
    payload: { ts: ISO, humidity: -5 },
    reason: 'out_of_range',
    detail: [/below the minimum 0 %/, /metricDefaults/],
    metric: 'humidity',
  },
  {
    name: 'unregistered sensor under strict policy',
    payload: { ts: ISO, temperature: 20 },
    scope: { topicSensorId: 'rogue-7' },
    opts: { policy: 'strict' },
    reason: 'unknown_sensor',
    detail: [/sensor "rogue-7" is not registered/, /strict/],
    sensorId: 'rogue-7',
  },
  {
    name: 'body names another sensor than the topic',
    payload: { sensor_id: 'gh-2', ts: ISO, temperature: 20 },
    reason: 'identity_mismatch',
    detail: [/sensor_id "gh-2"/, /topic of sensor "gh-1"/],
    sensorId: 'gh-1',
  },
  {
    name: 'HTTP token does not own the sensor',
    payload: { sensor_id: 'gh-9', ts: ISO, temperature: 20 },
    scope: { topicSensorId: null, owns: (s) => s === 'gh-1' },
    reason: 'identity_mismatch',
    detail: [/sensor "gh-9" is not one of the sensors this device's token may write/],
    sensorId: 'gh-9',
  },
];

for (const c of cases) {
  test(`quarantine ${c.reason}: ${c.name}`, () => {
    const v = run(c.payload, c.scope ?? MQTT, c.opts ?? {});
    assert.equal(v.quarantined.length, 1, JSON.stringify(v.quarantined));
    assert.equal(v.readings.length, c.accepted ?? 0);
    const q = v.quarantined[0];
    assert.equal(q.reason, c.reason, q.detail);
    for (const re of c.detail) assert.match(q.detail, re);
    if (c.metric !== undefined) assert.equal(q.metric, c.metric);
    if (c.sensorId !== undefined) assert.equal(q.sensorId, c.sensorId);
    assert.ok(q.payload.length > 0 || c.reason === 'invalid_json');
  });
}

test('every quarantine reason except conflicting_duplicate (warehouse-only) has a case', () => {
  const covered = new Set(cases.map((c) => c.reason));
  for (const r of [
    'invalid_json',
    'schema',
    'non_finite',
    'invalid_id',
    'bad_timestamp',
    'future_timestamp',
    'out_of_range',
    'unknown_sensor',
    'identity_mismatch',
    'payload_too_large',
  ] as const) {
    assert.ok(covered.has(r), r);
  }
});

// ------------------------------------------------------------------------------------------
// item contents

test('item fields: ts of the record when valid, null for timestamp reasons; payload is the offending part', () => {
  const v = run([
    { ts: ISO, seq: 3, readings: { temperature: 99, humidity: 40 } },
    { ts: '2024-05-01T11:59', temperature: 1 },
  ]);
  assert.equal(v.readings.length, 1);
  const [range, bad] = v.quarantined;
  assert.equal(range.reason, 'out_of_range');
  assert.equal(range.ts, TS);
  assert.equal(range.sensorId, 'gh-1');
  assert.deepEqual(JSON.parse(range.payload), { sensor_id: 'gh-1', ts: ISO, seq: 3, readings: { temperature: 99 } });
  assert.match(range.detail, /^record #0: /);
  assert.equal(bad.reason, 'bad_timestamp');
  assert.equal(bad.ts, null);
  assert.equal(bad.metric, null);
  assert.deepEqual(JSON.parse(bad.payload), { ts: '2024-05-01T11:59', temperature: 1 });
  assert.match(bad.detail, /^record #1: /);
});

test('whole-payload items carry the payload text, capped with a marker', () => {
  const big = '{"ts":' + ' '.repeat(200_000) + '1}x';
  const v = run(big, MQTT, { config: { maxPayloadBytes: 1 << 20 } });
  assert.equal(v.quarantined[0].reason, 'invalid_json');
  const p = v.quarantined[0].payload;
  assert.ok(p.length < PAYLOAD_EXCERPT_MAX + 100);
  assert.match(p, /…\[truncated: 200009 bytes in total\]$/);
  const tooBig = run('x'.repeat(10_000));
  assert.equal(tooBig.quarantined[0].payload.length, 10_000);
});

test('deeply nested values do not overflow the stack when quoted', () => {
  const d = 100_000;
  const deep = `{"ts":"${ISO}","temperature":${'['.repeat(d)}${']'.repeat(d)},"humidity":1}`;
  const v = run(deep, MQTT, { config: { maxPayloadBytes: 1 << 20 } });
  assert.equal(v.readings.length, 1);
  assert.equal(v.quarantined.length, 1);
  assert.equal(v.quarantined[0].reason, 'schema');
  assert.ok(v.quarantined[0].payload.includes('[…]'));
  const top = run('['.repeat(d) + ']'.repeat(d), MQTT, { config: { maxPayloadBytes: 1 << 20 } });
  assert.equal(top.quarantined[0].reason, 'schema');
});

// ------------------------------------------------------------------------------------------
// mixed arrays: exact counts

test('mixed array: bad records and readings are quarantined, the rest accepted', () => {
  const v = run(
    [
      { ts: ISO, seq: 1, readings: { temperature: 20, humidity: 40 } }, // 2 accepted
      { ts: '2024-05-01 11:59:00', seq: 2, temperature: 20, humidity: 40 }, // 1 item: bad_timestamp
      { ts: ISO, seq: 3, temperature: null, humidity: 41, co2: 400 }, // 2 accepted, 1 non_finite
      7, // 1 item: schema
      { sensor_id: 'other', ts: ISO, temperature: 20 }, // 1 item: identity_mismatch
      { ts: ISO, seq: 6, temperature: 500, 'bad key': 1, humidity: '40' }, // 3 items
      { ts: NOW / 1000, seq: 7, co2: 410 }, // 1 accepted
    ],
    MQTT,
  );
  assert.equal(v.readings.length, 5);
  assert.deepEqual(
    v.quarantined.map((q) => q.reason),
    ['bad_timestamp', 'non_finite', 'schema', 'identity_mismatch', 'out_of_range', 'invalid_id', 'non_finite'],
  );
  assert.deepEqual(
    v.readings.map((r) => `${r.seq}:${r.metric}`),
    ['1:temperature', '1:humidity', '3:humidity', '3:co2', '7:co2'],
  );
});

test('owns() is applied per record', () => {
  const v = run(
    [
      { sensor_id: 'mine', ts: ISO, temperature: 1 },
      { sensor_id: 'theirs', ts: ISO, temperature: 1 },
    ],
    { topicSensorId: null, owns: (s) => s === 'mine' },
  );
  assert.equal(v.readings.length, 1);
  assert.equal(v.readings[0].sensorId, 'mine');
  assert.equal(v.quarantined.length, 1);
  assert.equal(v.quarantined[0].reason, 'identity_mismatch');
});

test('a throwing owns() callback still does not make validateMessage throw', () => {
  const v = run({ sensor_id: 'x', ts: ISO, temperature: 1 }, {
    topicSensorId: null,
    owns: () => {
      throw new Error('token store down');
    },
  });
  assert.equal(v.readings.length, 0);
  assert.equal(v.quarantined.length, 1);
  assert.match(v.quarantined[0].detail, /internal validation error.*token store down/);
});

// ------------------------------------------------------------------------------------------
// property test: never throws, every item has a catalogue reason

/** A seeded uniform [0, 1) generator (the simulator's PRNG). */
function prng(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

const JSONISH = '{}[]":,0123456789.eE+-ntrufalsNI \\/\u00e9\u{1F600}Zz';
const ODD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  1e400,
  9007199254740993,
  -9007199254740993,
  1e9,
  5e11,
  NOW,
  NOW * 1000,
  NOW * 1e6,
  '',
  '21.4',
  'NaN',
  '2024-05-01T12:00:00',
  '2024-05-01T12:00:00+02:00',
  '2999-01-01T00:00:00Z',
  '\u0000',
  'gh-1',
  'a b',
  [],
  [1, 2],
  {},
  { temperature: 1 },
  { __proto__: 1 },
  'x'.repeat(300),
];

function mutateValue(rnd: () => number, v: unknown, depth = 0): unknown {
  const pick = () => ODD_VALUES[Math.floor(rnd() * ODD_VALUES.length)];
  if (depth > 3 || typeof v !== 'object' || v === null || rnd() < 0.3) return rnd() < 0.5 ? pick() : v;
  if (Array.isArray(v)) {
    const a = v.map((x) => mutateValue(rnd, x, depth + 1));
    if (rnd() < 0.3) a.push(pick());
    return a;
  }
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (rnd() < 0.1) continue;
    o[rnd() < 0.1 ? String(pick()) : k] = mutateValue(rnd, x, depth + 1);
  }
  if (rnd() < 0.2) o[rnd() < 0.5 ? 'sensor_id' : 'seq'] = pick();
  return o;
}

function mutateText(rnd: () => number, s: string): string {
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const ch = JSONISH[Math.floor(rnd() * JSONISH.length)];
    const op = Math.floor(rnd() * 4);
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1);
    else if (op === 1) s = s.slice(0, at) + ch + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + ch + s.slice(at + 1);
    else s = s.slice(0, at) + s.slice(at, at + Math.floor(rnd() * 10)) + s.slice(at);
  }
  return s;
}

test('property: 20,000 random inputs never throw and every item is well-formed', () => {
  const rnd = prng(0x5e5a0121);
  const valid = [
    { sensor_id: 'gh-1', ts: ISO, seq: 1, readings: { temperature: 21.4, humidity: 45.2, co2: 412 } },
    { ts: NOW / 1000, seq: 2, temperature: 21.5 },
  ];
  const scopes: MessageScope[] = [MQTT, HTTP, { topicSensorId: null, owns: (s) => s.startsWith('gh') }];
  const contexts = [ctx(), ctx({ policy: 'strict' }), ctx({ config: { epochUnit: 's', maxPayloadBytes: 512 } })];
  const reasons = new Map<string, number>();
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let payload: Buffer;
    const kind = i % 4;
    if (kind === 0) {
      const len = Math.floor(rnd() * 300);
      payload = Buffer.alloc(len);
      for (let k = 0; k < len; k++) payload[k] = Math.floor(rnd() * 256);
    } else if (kind === 1) {
      payload = Buffer.from(mutateText(rnd, JSON.stringify(rnd() < 0.5 ? valid : valid[0])));
    } else {
      const text = JSON.stringify(mutateValue(rnd, rnd() < 0.5 ? valid : valid[1])) ?? 'null';
      payload = Buffer.from(kind === 3 ? mutateText(rnd, text) : text);
    }
    const scope = scopes[i % scopes.length];
    const c = contexts[Math.floor(i / 3) % contexts.length];
    let v: Validated;
    try {
      v = validateMessage(message(payload), scope, c);
    } catch (err) {
      assert.fail(`threw on ${JSON.stringify(payload.toString('latin1'))}: ${err}`);
    }
    for (const q of v.quarantined) {
      assert.ok(isQuarantineReason(q.reason), q.reason);
      assert.ok(q.detail.length > 0);
      assert.doesNotMatch(q.detail, /internal validation error/, q.detail);
      assert.ok(q.payload.length <= PAYLOAD_EXCERPT_MAX + 60);
      assert.ok(q.sensorId === null || isValidId(q.sensorId), String(q.sensorId));
      assert.ok(q.metric === null || isValidId(q.metric), String(q.metric));
      reasons.set(q.reason, (reasons.get(q.reason) ?? 0) + 1);
    }
    for (const r of v.readings) {
      assert.ok(Number.isFinite(r.value) && Math.abs(r.value) <= Number.MAX_SAFE_INTEGER);
      assert.ok(Number.isSafeInteger(r.ts) && r.ts <= NOW + 300_000);
      assert.ok(isValidId(r.sensorId) && isValidId(r.metric));
      assert.ok(r.seq === null || (Number.isSafeInteger(r.seq) && r.seq >= 0));
      accepted++;
    }
    if (v.readings.length === 0 && v.quarantined.length === 0) assert.fail('message produced no outcome');
  }
  // the generator reaches most of the catalogue, and some inputs stay valid
  assert.ok(reasons.size >= 8, JSON.stringify([...reasons]));
  assert.ok(accepted > 1000, String(accepted));
});
