import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitSenmlName, unitMetric, validateSenml } from '../../src/pipeline/decode/senml.js';
import type { MessageScope, ValidateContext } from '../../src/pipeline/validate.js';
import { PAYLOAD_EXCERPT_MAX } from '../../src/pipeline/decode/describe.js';
import { MemoryRegistry, type MetricSpec } from '../../src/core/registry.js';
import { isQuarantineReason, type QuarantineReason } from '../../src/core/reasons.js';
import { isValidId } from '../../src/core/ids.js';
import type { Message, Validated } from '../../src/core/types.js';
import type { ValidationConfig } from '../../src/config/schema.js';
import { createRng } from '../../src/sim/prng.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0); // the fixed fake clock, and the time each message is received
const NOW_S = NOW / 1000;

const baseConfig: ValidationConfig = {
  maxPayloadBytes: 1 << 20,
  maxFutureSkewS: 300,
  minTimestamp: '2000-01-01T00:00:00Z',
  unknownSensorPolicy: 'auto',
  epochUnit: 'auto',
};
const metricDefaults: Record<string, MetricSpec> = {
  temperature: { unit: '°C', min: -60, max: 100 },
  humidity: { unit: '%', min: 0, max: 100 },
};

function ctx(opts: { policy?: 'auto' | 'strict'; config?: Partial<ValidationConfig> } = {}): ValidateContext {
  return {
    registry: new MemoryRegistry(opts.policy ?? 'auto', [
      {
        sensorId: 'gh-1',
        location: null,
        type: null,
        expectedIntervalS: 60,
        metrics: { temperature: { unit: '°C', min: -10, max: 50 } },
      },
    ]),
    config: { ...baseConfig, ...opts.config },
    metricDefaults,
    clock: { now: () => NOW },
  };
}

function message(payload: string | Buffer): Message {
  return { source: 'http', topic: 'http:/v1/ingest/senml', deviceId: null, receivedAt: NOW, payload: typeof payload === 'string' ? Buffer.from(payload) : payload };
}

const ANY: MessageScope = { topicSensorId: null };

function run(pack: unknown, scope: MessageScope = ANY, c: ValidateContext = ctx()): Validated {
  const p = typeof pack === 'string' || Buffer.isBuffer(pack) ? pack : JSON.stringify(pack);
  return validateSenml(message(p), scope, c);
}

const rd = (v: Validated) => v.readings.map((r) => [r.sensorId, r.metric, r.ts, r.value]);

// ------------------------------------------------------------------------------------------
// name mapping

test('splitSenmlName: device URNs, "/" before ":", no separator', () => {
  const cases: [string, { sensorId: string; metric: string } | RegExp][] = [
    ['urn:dev:ow:10e2073a01080063:temp', { sensorId: '10e2073a01080063', metric: 'temp' }],
    ['urn:dev:ow:10e2073a01080063/voltage', { sensorId: '10e2073a01080063', metric: 'voltage' }],
    ['urn:dev:ow:10e2073a01080063', { sensorId: '10e2073a01080063', metric: '' }],
    ['urn:dev:mac:0024befffe804ff1:soil:top', { sensorId: '0024befffe804ff1', metric: 'soil:top' }],
    ['urn:dev:ops:32473-Refrigerator-5002:temp', { sensorId: '32473-Refrigerator-5002', metric: 'temp' }],
    ['greenhouse-1/temperature', { sensorId: 'greenhouse-1', metric: 'temperature' }],
    ['room-1/soil:top', { sensorId: 'room-1', metric: 'soil:top' }],
    ['site/room-1/temperature', { sensorId: 'site/room-1', metric: 'temperature' }],
    ['greenhouse-1:temperature', { sensorId: 'greenhouse-1', metric: 'temperature' }],
    ['a:b:temperature', { sensorId: 'a:b', metric: 'temperature' }],
    ['2001:db8::2/temperature', { sensorId: '2001:db8::2', metric: 'temperature' }],
    ['greenhouse-1/', { sensorId: 'greenhouse-1', metric: '' }],
    ['temperature', /does not name a sensor/],
    ['/temperature', /does not name a sensor/],
    ['urn:dev:ow:', /no device identifier/],
    ['urn:dev:', /no device identifier/],
  ];
  for (const [name, want] of cases) {
    const got = splitSenmlName(name);
    if (want instanceof RegExp) assert.match(String(got), want, name);
    else assert.deepEqual(got, want, name);
  }
});

test('unitMetric: units as metric names', () => {
  assert.equal(unitMetric('%RH'), 'pct_RH');
  assert.equal(unitMetric('%EL'), 'pct_EL');
  assert.equal(unitMetric('%'), 'pct');
  assert.equal(unitMetric('m/s'), 'm_per_s');
  assert.equal(unitMetric('1/min'), '1_per_min');
  assert.equal(unitMetric('Cel'), 'Cel');
});

// ------------------------------------------------------------------------------------------
// RFC 8428 §5 examples (the packs as the RFC gives them), and what Sensorpipe stores

test('RFC 8428 §5.1.1 single datapoint: a bare device URN, the metric from the unit, time "now"', () => {
  const v = run([{ n: 'urn:dev:ow:10e2073a01080063', u: 'Cel', v: 23.1 }]);
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(rd(v), [['10e2073a01080063', 'Cel', NOW, 23.1]]);
});

test('RFC 8428 §5.1.2 multiple datapoints, without and with base time and relative times', () => {
  const a = run([
    { bn: 'urn:dev:ow:10e2073a01080063:', n: 'voltage', u: 'V', v: 120.1 },
    { n: 'current', u: 'A', v: 1.2 },
  ]);
  assert.deepEqual(a.quarantined, []);
  assert.deepEqual(rd(a), [
    ['10e2073a01080063', 'voltage', NOW, 120.1],
    ['10e2073a01080063', 'current', NOW, 1.2],
  ]);

  const b = run([
    { bn: 'urn:dev:ow:10e2073a01080063:', bt: 1.276020076001e9, bu: 'A', bver: 5, n: 'voltage', u: 'V', v: 120.1 },
    { n: 'current', t: -5, v: 1.2 },
    { n: 'current', t: -4, v: 1.3 },
    { n: 'current', t: -3, v: 1.4 },
    { n: 'current', t: -2, v: 1.5 },
    { n: 'current', t: -1, v: 1.6 },
    { n: 'current', v: 1.7 },
  ]);
  assert.deepEqual(b.quarantined, []);
  const T = Date.UTC(2010, 5, 8, 18, 1, 16, 1); // Tue Jun 8 18:01:16.001 UTC 2010, as the RFC says
  assert.deepEqual(rd(b), [
    ['10e2073a01080063', 'voltage', T, 120.1],
    ['10e2073a01080063', 'current', T - 5000, 1.2],
    ['10e2073a01080063', 'current', T - 4000, 1.3],
    ['10e2073a01080063', 'current', T - 3000, 1.4],
    ['10e2073a01080063', 'current', T - 2000, 1.5],
    ['10e2073a01080063', 'current', T - 1000, 1.6],
    ['10e2073a01080063', 'current', T, 1.7],
  ]);
});

test('RFC 8428 §5.1.4 multiple measurements: one device, quantities told apart by unit', () => {
  const v = run([
    { bn: 'urn:dev:ow:10e2073a01080063', bt: 1.320067464e9, bu: '%RH', v: 20 },
    { u: 'lon', v: 24.30621 },
    { u: 'lat', v: 60.07965 },
    { t: 60, v: 20.3 },
    { u: 'lon', t: 60, v: 24.30622 },
    { u: 'lat', t: 60, v: 60.07965 },
    { t: 120, v: 20.7 },
    { u: 'lon', t: 120, v: 24.30623 },
    { u: 'lat', t: 120, v: 60.07966 },
    { u: '%EL', t: 150, v: 98 },
    { t: 180, v: 21.2 },
    { u: 'lon', t: 180, v: 24.30628 },
    { u: 'lat', t: 180, v: 60.07967 },
  ]);
  assert.deepEqual(v.quarantined, []);
  const T = Date.UTC(2011, 9, 31, 13, 24, 24); // Mon Oct 31 13:24:24 UTC 2011
  const by = (m: string) => v.readings.filter((r) => r.metric === m).map((r) => [r.ts - T, r.value]);
  assert.deepEqual(by('pct_RH'), [
    [0, 20],
    [60_000, 20.3],
    [120_000, 20.7],
    [180_000, 21.2],
  ]);
  assert.equal(by('lon').length, 4);
  assert.equal(by('lat').length, 4);
  assert.deepEqual(by('pct_EL'), [[150_000, 98]]);
  assert.ok(v.readings.every((r) => r.sensorId === '10e2073a01080063'));
});

test('RFC 8428 §5.1.5 multiple data types: the number is stored, vs/vb/vd are quarantined as schema', () => {
  const v = run([
    { bn: 'urn:dev:ow:10e2073a01080063:', n: 'temp', u: 'Cel', v: 23.1 },
    { n: 'label', vs: 'Machine Room' },
    { n: 'open', vb: false },
    { n: 'nfv-reader', vd: 'aGkgCg' },
  ]);
  assert.deepEqual(rd(v), [['10e2073a01080063', 'temp', NOW, 23.1]]);
  assert.deepEqual(
    v.quarantined.map((q) => [q.reason, q.metric, q.sensorId]),
    [
      ['schema', 'label', '10e2073a01080063'],
      ['schema', 'open', '10e2073a01080063'],
      ['schema', 'nfv-reader', '10e2073a01080063'],
    ],
  );
  assert.match(v.quarantined[0].detail, /^record #1: "vs" is a string value/);
  assert.match(v.quarantined[1].detail, /"vb" is a boolean value \(false\)/);
  assert.match(v.quarantined[2].detail, /"vd" is a data value/);
});

test('RFC 8428 §5.1.6-style collection: base name changes mid-pack, base time carries on', () => {
  const v = run([
    { bn: '2001:db8::2/', bt: 1.320078429e9, n: 'temperature', u: 'Cel', v: 27.2 },
    { n: 'humidity', u: '%RH', v: 80 },
    { bn: '2001:db8::1/', n: 'temperature', u: 'Cel', v: 24 },
    { n: 'humidity', u: '%RH', v: 60 },
  ]);
  assert.deepEqual(v.quarantined, []);
  const T = 1_320_078_429_000;
  assert.deepEqual(rd(v), [
    ['2001:db8::2', 'temperature', T, 27.2],
    ['2001:db8::2', 'humidity', T, 80],
    ['2001:db8::1', 'temperature', T, 24],
    ['2001:db8::1', 'humidity', T, 60],
  ]);
});

// ------------------------------------------------------------------------------------------
// resolution rules

test('base value, base sum, sums, base-only records, relative and absolute times', () => {
  const v = run([
    { bn: 'gh-1/', bt: NOW_S - 60 }, // base only: not a measurement
    { bv: 20, n: 'temperature', v: 1.5 },
    { n: 'temperature', t: -10, v: -0.5 },
    { n: 'temperature', t: 5 }, // no v: the base value (RFC 8428: a missing Value counts as zero)
    { bn: 'meter-1/', bt: 0, n: 'energy', bs: 1000, s: 100 }, // sum only -> energy_sum, time relative: now
    { n: 'power', v: 2.5, s: 7, t: -60 }, // value and sum
    { n: 'ignored-fields', v: 1, ut: 60, l: 'x', foo: 'bar', u: 'W' },
  ]);
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(rd(v), [
    ['gh-1', 'temperature', NOW - 60_000, 21.5],
    ['gh-1', 'temperature', NOW - 70_000, 19.5],
    ['gh-1', 'temperature', NOW - 55_000, 20],
    ['meter-1', 'energy_sum', NOW, 1100],
    ['meter-1', 'power', NOW - 60_000, 22.5],
    ['meter-1', 'power_sum', NOW - 60_000, 1007],
    ['meter-1', 'ignored-fields', NOW, 21],
  ]);
});

test('times: 2^28 is the boundary between relative and absolute; fractions are kept to the ms', () => {
  const rel = run([{ bn: 'gh-1/', n: 'co2', t: -0.25, v: 1 }]);
  assert.equal(rel.readings[0].ts, NOW - 250);
  const abs = run([{ bn: 'gh-1/', n: 'co2', t: NOW_S - 0.123, v: 1 }]);
  assert.equal(abs.readings[0].ts, NOW - 123);
  // 2^28 - 1 s relative = ~8.5 years ahead of now: future_timestamp, not a 1978 date
  const edge = run([{ bn: 'gh-1/', n: 'co2', t: 2 ** 28 - 1, v: 1 }]);
  assert.equal(edge.quarantined[0].reason, 'future_timestamp');
  // 2^28 s absolute = 1978: before minTimestamp
  const at = run([{ bn: 'gh-1/', n: 'co2', t: 2 ** 28, v: 1 }]);
  assert.equal(at.quarantined[0].reason, 'bad_timestamp');
  assert.match(at.quarantined[0].detail, /1978-07-04T21:24:16\.000Z, before validation\.minTimestamp/);
});

test('owns() is applied per record; the registry range applies to registered sensors', () => {
  const v = run(
    [
      { bn: 'gh-1/', n: 'temperature', v: 20 },
      { bn: 'gh-2/', n: 'temperature', v: 20 },
      { bn: 'gh-1/', n: 'temperature', t: -1, v: 60 },
    ],
    { topicSensorId: null, owns: (s) => s === 'gh-1' },
  );
  assert.deepEqual(rd(v), [['gh-1', 'temperature', NOW, 20]]);
  assert.deepEqual(
    v.quarantined.map((q) => q.reason),
    ['identity_mismatch', 'out_of_range'],
  );
  assert.match(v.quarantined[1].detail, /above the maximum 50 °C registered for sensor "gh-1"/);
});

// ------------------------------------------------------------------------------------------
// every reason code

interface Case {
  name: string;
  pack: unknown;
  reason: QuarantineReason;
  detail: RegExp[];
  scope?: MessageScope;
  c?: ValidateContext;
  accepted?: number;
  sensorId?: string | null;
  metric?: string | null;
}

const T0 = NOW_S - 60;
const cases: Case[] = [
  { name: 'payload over the limit', pack: JSON.stringify([{ bn: 'gh-1/', n: 'x', v: 1, pad: 'x'.repeat(200) }]), c: ctx({ config: { maxPayloadBytes: 100 } }), reason: 'payload_too_large', detail: [/at most 100 bytes/] },
  { name: 'truncated JSON', pack: '[{"bn":"gh-1/","n":"x","v":1', reason: 'invalid_json', detail: [/not valid JSON/] },
  { name: 'empty payload', pack: '', reason: 'invalid_json', detail: [/empty/] },
  { name: 'not UTF-8', pack: Buffer.from([0x5b, 0xff, 0x5d]), reason: 'invalid_json', detail: [/UTF-8/] },
  { name: 'one object instead of a pack', pack: { bn: 'gh-1/', n: 'x', v: 1 }, reason: 'schema', detail: [/wrap it in \[ \]/] },
  { name: 'a number', pack: '42', reason: 'schema', detail: [/not a SenML pack/] },
  { name: 'empty pack', pack: [], reason: 'schema', detail: [/SenML pack is an empty array/] },
  { name: 'base name not a string', pack: [{ bn: 5, n: 'x', v: 1 }], reason: 'schema', detail: [/base field "bn" is the number 5/] },
  { name: 'base time not a number', pack: [{ bn: 'gh-1/', bt: '2024', n: 'x', v: 1 }], reason: 'schema', detail: [/base field "bt"/] },
  { name: 'newer SenML version', pack: [{ bver: 11, bn: 'gh-1/', n: 'x', v: 1 }], reason: 'schema', detail: [/bver 11 is a newer SenML version than 10/] },
  { name: 'only base fields', pack: [{ bn: 'gh-1/', bt: T0 }], reason: 'schema', detail: [/no measurement/] },
  { name: 'record not an object', pack: [7], reason: 'schema', detail: [/^record #0 is a number/] },
  { name: 'must-understand field', pack: [{ bn: 'gh-1/', n: 'x', v: 1, geo_: 1 }], reason: 'schema', detail: [/"geo_" ends in "_"/, /RFC 8428 §4.4/] },
  { name: 'n not a string', pack: [{ bn: 'gh-1/', n: 3, v: 1 }], reason: 'schema', detail: [/"n" is the number 3/] },
  { name: 'u not a string', pack: [{ bn: 'gh-1/', n: 'x', u: 1, v: 1 }], reason: 'schema', detail: [/"u" is the number 1/] },
  { name: 'no name at all', pack: [{ v: 1 }], reason: 'schema', detail: [/has no name/] },
  { name: 'name without a sensor part', pack: [{ n: 'temperature', v: 1 }], reason: 'schema', detail: [/does not name a sensor/] },
  { name: 'sensor named but no metric and no unit', pack: [{ bn: 'gh-1/', v: 1 }], reason: 'schema', detail: [/names the sensor but no metric/], sensorId: 'gh-1' },
  { name: 'two value fields', pack: [{ bn: 'gh-1/', n: 'x', v: 1, vs: 'a' }], reason: 'schema', detail: [/more than one of "v", "vs", "vb", "vd"/] },
  { name: 'string value', pack: [{ bn: 'gh-1/', n: 'state', vs: 'on' }], reason: 'schema', detail: [/"vs" is a string value/], metric: 'state', sensorId: 'gh-1' },
  { name: 'no value and no base value', pack: [{ bn: 'gh-1/', n: 'x', t: 0 }], reason: 'schema', detail: [/has no value/] },
  { name: 'v is an object', pack: [{ bn: 'gh-1/', n: 'x', v: { a: 1 } }], reason: 'schema', detail: [/nested values are not supported/], metric: 'x' },
  { name: 'name with a space', pack: [{ bn: 'gh 1/', n: 'x', v: 1 }], reason: 'invalid_id', detail: [/not a valid SenML name/] },
  { name: 'sensor id with a slash', pack: [{ bn: 'site/room-1/', n: 'temperature', v: 1 }], reason: 'invalid_id', detail: [/sensor id "site\/room-1" is not a valid id/, /character "\/"/] },
  { name: 'metric name too long', pack: [{ bn: 'gh-1/', n: 'm'.repeat(200), v: 1 }], reason: 'invalid_id', detail: [/metric name "m+"… \(200 characters\) is not a valid id/], metric: null, sensorId: 'gh-1' },
  { name: 'another device\'s sensor', pack: [{ bn: 'gh-9/', n: 'x', v: 1 }], scope: { topicSensorId: null, owns: (s) => s === 'gh-1' }, reason: 'identity_mismatch', detail: [/sensor "gh-9" is not one of the sensors this device's token may write/], sensorId: 'gh-9' },
  { name: 't is a string', pack: [{ bn: 'gh-1/', n: 'x', t: 'yesterday', v: 1 }], reason: 'bad_timestamp', detail: [/"t" is the string "yesterday"/] },
  { name: 'bt + t overflows', pack: [{ bn: 'gh-1/', bt: 1e308, n: 'x', t: 1e308, v: 1 }], reason: 'bad_timestamp', detail: [/not a finite number of seconds/] },
  { name: 'absolute time in 1999', pack: [{ bn: 'gh-1/', bt: 9.4e8, n: 'x', v: 1 }], reason: 'bad_timestamp', detail: [/1999-10-15/, /before validation\.minTimestamp/] },
  { name: 'an hour ahead', pack: [{ bn: 'gh-1/', bt: NOW_S + 3600, n: 'x', v: 1 }], reason: 'future_timestamp', detail: [/3600\.0 s ahead of the server clock/] },
  { name: 'unregistered under strict policy', pack: [{ bn: 'rogue-1/', n: 'x', v: 1 }], c: ctx({ policy: 'strict' }), reason: 'unknown_sensor', detail: [/sensor "rogue-1" is not registered/], sensorId: 'rogue-1' },
  { name: 'v as text', pack: [{ bn: 'gh-1/', n: 'temperature', v: '21.4' }], reason: 'non_finite', detail: [/send 21\.4 without quotes/], metric: 'temperature' },
  { name: 'v null', pack: [{ bn: 'gh-1/', n: 'temperature', v: null }], reason: 'non_finite', detail: [/the value is null/] },
  { name: 'v overflows a double', pack: '[{"bn":"gh-1/","n":"x","v":1e400}]', reason: 'non_finite', detail: [/overflows a 64-bit double/] },
  { name: 'bv + v beyond 2^53', pack: [{ bn: 'gh-1/', bv: 9007199254740990, n: 'x', v: 100 }], reason: 'non_finite', detail: [/beyond ±2\^53/] },
  { name: 'above the registered maximum', pack: [{ bn: 'gh-1/', n: 'temperature', v: 51 }], reason: 'out_of_range', detail: [/above the maximum 50 °C/], metric: 'temperature', sensorId: 'gh-1' },
  { name: 'below the default minimum', pack: [{ bn: 'new-1/', n: 'humidity', v: -1 }], reason: 'out_of_range', detail: [/below the minimum 0 %/, /metricDefaults/] },
];

for (const c of cases) {
  test(`quarantine ${c.reason}: ${c.name}`, () => {
    const v = run(c.pack, c.scope ?? ANY, c.c ?? ctx());
    assert.equal(v.quarantined.length, 1, JSON.stringify(v.quarantined));
    assert.equal(v.readings.length, c.accepted ?? 0);
    const q = v.quarantined[0];
    assert.equal(q.reason, c.reason, q.detail);
    for (const re of c.detail) assert.match(q.detail, re);
    if (c.metric !== undefined) assert.equal(q.metric, c.metric);
    if (c.sensorId !== undefined) assert.equal(q.sensorId, c.sensorId);
    assert.doesNotMatch(q.detail, /internal validation error/);
  });
}

test('every quarantine reason except conflicting_duplicate (warehouse-only) has a case', () => {
  const covered = new Set(cases.map((c) => c.reason));
  for (const r of ['invalid_json', 'schema', 'non_finite', 'invalid_id', 'bad_timestamp', 'future_timestamp', 'out_of_range', 'unknown_sensor', 'identity_mismatch', 'payload_too_large'] as const) {
    assert.ok(covered.has(r), r);
  }
});

test('items: the offending record as a one-record pack with the bases in effect; record index in the detail', () => {
  const v = run([
    { bn: 'gh-1/', bt: T0, bv: 10, n: 'temperature', v: 1 },
    { n: 'temperature', t: 1, v: 45 }, // 55: above 50
  ]);
  assert.equal(v.readings.length, 1);
  const [q] = v.quarantined;
  assert.equal(q.reason, 'out_of_range');
  assert.match(q.detail, /^record #1: metric "temperature" = 55 is above/);
  assert.deepEqual(JSON.parse(q.payload), [{ bn: 'gh-1/', bt: T0, bv: 10, n: 'temperature', t: 1, v: 45 }]);
  assert.equal(q.ts, (T0 + 1) * 1000);
});

test('a mixed pack: exact counts, the good records still accepted', () => {
  const v = run([
    { bn: 'gh-1/', bt: T0, n: 'temperature', v: 20 },
    { n: 'humidity', v: 40 },
    { n: 'humidity', v: 140 },
    { n: 'door', vb: true },
    'junk',
    { n: 'co2', v: '400' },
    { n: 'co2', t: 1, v: 400 },
  ]);
  assert.equal(v.readings.length, 3);
  assert.deepEqual(
    v.quarantined.map((q) => q.reason),
    ['out_of_range', 'schema', 'schema', 'non_finite'],
  );
});

test('a throwing owns() callback does not make validateSenml throw', () => {
  const v = run([{ bn: 'gh-1/', n: 'x', v: 1 }], {
    topicSensorId: null,
    owns: () => {
      throw new Error('token store down');
    },
  });
  assert.equal(v.readings.length, 0);
  assert.match(v.quarantined[0].detail, /internal validation error.*token store down/);
});

// ------------------------------------------------------------------------------------------
// property: seeded random bytes and mutated packs never throw; every item is well formed

/** A seeded uniform [0, 1) generator (the simulator's PRNG). */
function prng(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

const ODD: unknown[] = [null, true, 0, -1, 1.5, 1e400, 2 ** 28, -(2 ** 28), NOW_S, 9007199254740993, '', 'x', 'gh-1/', 'urn:dev:ow:', 'urn:dev:ow:a:', 'a b', '%RH', [], {}, { v: 1 }, 'x'.repeat(300)];
const KEYS = ['bn', 'bt', 'bu', 'bv', 'bs', 'bver', 'n', 'u', 'v', 'vs', 'vb', 'vd', 's', 't', 'ut', 'l', 'x_', 'foo'];
const CHARS = '[]{}":,0123456789.eE+-ntrufalsbv/:_ \\\u00e9';

function mutateText(rnd: () => number, s: string): string {
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const ch = CHARS[Math.floor(rnd() * CHARS.length)];
    const op = Math.floor(rnd() * 3);
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1);
    else if (op === 1) s = s.slice(0, at) + ch + s.slice(at);
    else s = s.slice(0, at) + ch + s.slice(at + 1);
  }
  return s;
}

test('property: 20,000 seeded random inputs never throw and every item is well-formed', () => {
  const rnd = prng(0x5e41);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const valid = [
    { bn: 'urn:dev:ow:10e2073a01080063:', bt: T0, n: 'temperature', u: 'Cel', v: 21.4 },
    { n: 'humidity', t: 10, v: 40 },
    { n: 'energy', s: 5 },
  ];
  const scopes: MessageScope[] = [ANY, { topicSensorId: null, owns: (s) => s.startsWith('10e') }];
  const contexts = [ctx(), ctx({ policy: 'strict' }), ctx({ config: { maxPayloadBytes: 300 } })];
  const reasons = new Map<string, number>();
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let payload: Buffer;
    const kind = i % 3;
    if (kind === 0) {
      payload = Buffer.alloc(Math.floor(rnd() * 200));
      for (let k = 0; k < payload.length; k++) payload[k] = Math.floor(rnd() * 256);
    } else {
      const pack = valid.map((r) => {
        const o: Record<string, unknown> = { ...r };
        if (rnd() < 0.4) o[pick(KEYS)] = pick(ODD);
        if (rnd() < 0.2) delete o[pick(Object.keys(o))];
        return o;
      });
      const text = JSON.stringify(pack) ?? '[]';
      payload = Buffer.from(kind === 2 ? mutateText(rnd, text) : text);
    }
    let v: Validated;
    try {
      v = validateSenml(message(payload), scopes[i % 2], contexts[Math.floor(i / 2) % 3]);
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
      accepted++;
    }
    if (v.readings.length === 0 && v.quarantined.length === 0) assert.fail(`no outcome for ${payload.toString('latin1')}`);
  }
  assert.ok(reasons.size >= 8, JSON.stringify([...reasons]));
  assert.ok(accepted > 1000, String(accepted));
});
