import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LINE_PROTOCOL,
  lineTimestampToMs,
  parseLineProtocol,
  validateLineProtocol,
  type LineProtocolOptions,
  type LinePoint,
} from '../../src/pipeline/decode/line-protocol.js';
import type { MessageScope, ValidateContext } from '../../src/pipeline/validate.js';
import { PAYLOAD_EXCERPT_MAX } from '../../src/pipeline/decode/describe.js';
import { MemoryRegistry, type MetricSpec } from '../../src/core/registry.js';
import { isQuarantineReason, type QuarantineReason } from '../../src/core/reasons.js';
import { isValidId } from '../../src/core/ids.js';
import type { Message, Validated } from '../../src/core/types.js';
import type { ValidationConfig } from '../../src/config/schema.js';
import { createRng } from '../../src/sim/prng.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const TS_MS = NOW - 60_000;
const TS_NS = `${TS_MS}000000`;

const baseConfig: ValidationConfig = {
  maxPayloadBytes: 1 << 20,
  maxFutureSkewS: 300,
  minTimestamp: '2000-01-01T00:00:00Z',
  unknownSensorPolicy: 'auto',
  epochUnit: 'auto',
};
const metricDefaults: Record<string, MetricSpec> = { temperature: { unit: '°C', min: -60, max: 100 } };

function ctx(opts: { policy?: 'auto' | 'strict'; config?: Partial<ValidationConfig> } = {}): ValidateContext {
  return {
    registry: new MemoryRegistry(opts.policy ?? 'auto', [
      { sensorId: 'gh-1', location: null, type: null, expectedIntervalS: 60, metrics: { weather_temperature: { unit: '°C', min: -10, max: 50 } } },
    ]),
    config: { ...baseConfig, ...opts.config },
    metricDefaults,
    clock: { now: () => NOW },
  };
}

function message(payload: string | Buffer): Message {
  return { source: 'http', topic: 'http:/api/v2/write?precision=ns', deviceId: null, receivedAt: NOW, payload: typeof payload === 'string' ? Buffer.from(payload) : payload };
}

const ANY: MessageScope = { topicSensorId: null };

function run(text: string | Buffer, opts: Partial<LineProtocolOptions> = {}, scope: MessageScope = ANY, c: ValidateContext = ctx()): Validated {
  return validateLineProtocol(message(text), scope, c, { ...DEFAULT_LINE_PROTOCOL, ...opts });
}

function point(line: string): LinePoint {
  const [p] = parseLineProtocol(line);
  assert.ok(p && p.ok, `${line}: ${p && !p.ok ? p.detail : 'no line'}`);
  return p.point;
}

const rd = (v: Validated) => v.readings.map((r) => [r.sensorId, r.metric, r.ts, r.value]);

// ------------------------------------------------------------------------------------------
// syntax and escaping (InfluxDB line protocol reference)

test('parse: escaping in measurement, tag keys and values, field keys and string values', () => {
  const cases: [string, Partial<LinePoint> & { fieldKeys?: string[]; values?: unknown[] }][] = [
    ['weather,location=us\\,midwest temperature=82 1465839830100400200', { measurement: 'weather', tags: [['location', 'us,midwest']], timestamp: '1465839830100400200' }],
    ['wea\\ ther,host=a t=1', { measurement: 'wea ther' }],
    ['wea\\,ther,host=a t=1', { measurement: 'wea,ther' }],
    ['wea=ther,host=a t=1', { measurement: 'wea=ther' }], // "=" needs no escape in a measurement
    ['wea\\=ther,host=a t=1', { measurement: 'wea\\=ther' }], // … so "\=" stays as it is there
    ['weather,location\\ place=us t=1', { tags: [['location place', 'us']] }],
    ['weather,loc\\=x=us t=1', { tags: [['loc=x', 'us']] }],
    ['weather,host=a\\=b t=1', { tags: [['host', 'a=b']] }],
    ['weather,host=a\\ b\\,c t=1', { tags: [['host', 'a b,c']] }],
    ['weather,host=a temp\\=rature=1', { fieldKeys: ['temp=rature'] }],
    ['weather,host=a temp\\ rature=1,temp\\,x=2', { fieldKeys: ['temp rature', 'temp,x'], values: [1, 2] }],
    ['m\\\\,host=a v=1', { measurement: 'm\\', tags: [['host', 'a']] }], // "\\" is one backslash
    ['m\\\\\\,x,host=a v=1', { measurement: 'm\\,x' }], // "\\\," is a backslash and a comma
    ['m\\x,host=a v=1', { measurement: 'm\\x' }], // a backslash before anything else is literal
    ['weather,host=a s="too \\"hot\\""', { values: ['too "hot"'] }],
    ['weather,host=a s="back\\\\slash"', { values: ['back\\slash'] }],
    ['weather,host=a s="a\\nb"', { values: ['a\\nb'] }], // other escapes stay literal in strings
    ['weather,host=a s="a, b=c d",v=1', { values: ['a, b=c d', 1] }],
    ['weather,host=a s=""', { values: [''] }],
  ];
  for (const [line, want] of cases) {
    const p = point(line);
    if (want.measurement !== undefined) assert.equal(p.measurement, want.measurement, line);
    if (want.tags !== undefined) assert.deepEqual(p.tags, want.tags, line);
    if (want.timestamp !== undefined) assert.equal(p.timestamp, want.timestamp, line);
    if (want.fieldKeys !== undefined) assert.deepEqual(p.fields.map((f) => f.key), want.fieldKeys, line);
    if (want.values !== undefined) assert.deepEqual(p.fields.map((f) => f.v.value), want.values, line);
  }
});

test('parse: field value types', () => {
  const p = point('m,host=a f=1,g=-1.5,h=1e3,i=.5,j=2i,k=-2i,l=2u,m=t,n=FALSE,o=True,p="s",q=NaN,r=-Inf,s=1.e2,t=+3');
  assert.deepEqual(
    p.fields.map((f) => [f.key, f.v.kind, f.v.value]),
    [
      ['f', 'float', 1],
      ['g', 'float', -1.5],
      ['h', 'float', 1000],
      ['i', 'float', 0.5],
      ['j', 'int', 2],
      ['k', 'int', -2],
      ['l', 'uint', 2],
      ['m', 'bool', true],
      ['n', 'bool', false],
      ['o', 'bool', true],
      ['p', 'string', 's'],
      ['q', 'nonfinite', 'NaN'],
      ['r', 'nonfinite', '-Inf'],
      ['s', 'float', 100],
      ['t', 'float', 3],
    ],
  );
});

test('parse: comments, blank lines, CRLF, leading and repeated whitespace; line numbers count every line', () => {
  const lines = parseLineProtocol('# a comment\r\n\r\n  m,host=a v=1  123  \r\n\t# indented comment\nm,host=b   v=2\n\n');
  assert.deepEqual(
    lines.map((l) => [l.line, l.ok && l.point.tags[0][1], l.ok && l.point.timestamp]),
    [
      [3, 'a', '123'],
      [5, 'b', null],
    ],
  );
});

test('parse: syntax errors name what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['weather', /no fields/],
    ['weather,host=a', /no fields/],
    ['weather,host=a ', /no fields/],
    ['weather v', /field "v" has no "=" and value/],
    ['weather v=', /field "v" has no value/],
    ['weather v=abc', /the value "abc", which is not a line protocol value/],
    ['weather v=1x', /the value "1x"/],
    ['weather v=-2u', /the value "-2u"/],
    ['weather v="unterminated', /no closing quote/],
    ['weather v="a"b', /unexpected "b" after the value of field "v"/],
    ['weather,host= v=1', /tag "host" has an empty value/],
    ['weather,=a v=1', /tag #1 has an empty key/],
    ['weather, v=1', /tag #1 has an empty key/],
    ['weather,host v=1', /tag "host" has no "="/],
    [',host=a v=1', /no measurement name/],
    ['weather,host=a=b v=1', /must be escaped as "\\="/],
    ['weather v=1,', /field #2 has an empty key/],
    ['weather v=1 123 extra', /unexpected text "extra" after the timestamp/],
    ['weather =1', /field #1 has an empty key/],
  ];
  for (const [line, re] of cases) {
    const [p] = parseLineProtocol(line);
    assert.ok(p && !p.ok, `${line} should not parse`);
    assert.match(p.detail, re, line);
  }
});

test('timestamps: every precision, rounded down to the ms, BigInt-exact for ns', () => {
  const ms = 1_700_000_000_123;
  assert.equal(lineTimestampToMs('1700000000123456789', 'ns'), ms);
  assert.equal(lineTimestampToMs('1700000000123999999', 'ns'), ms); // a double would round this up
  assert.equal(lineTimestampToMs('1700000000123999', 'us'), ms);
  assert.equal(lineTimestampToMs('1700000000123', 'ms'), ms);
  assert.equal(lineTimestampToMs('1700000000', 's'), 1_700_000_000_000);
  assert.equal(lineTimestampToMs('-1', 'ns'), -1); // floor, not truncation
  assert.ok(Number.isNaN(lineTimestampToMs('1.5', 'ns')));
  assert.ok(Number.isNaN(lineTimestampToMs('9'.repeat(30), 's')));
});

// ------------------------------------------------------------------------------------------
// mapping

test('mapping: sensor from sensor_id, else host; metric = measurement_field; numbers of every kind', () => {
  const v = run(
    [
      `weather,sensor_id=gh-1,host=ignored temperature=21.5,humidity=40i ${TS_NS}`,
      `cpu,cpu=cpu-total,host=box-1 usage_idle=93.25,count=7u ${TS_NS}`,
      'mem,host=box-1 used_percent=41.5', // no timestamp: the time the request was received
    ].join('\n'),
  );
  assert.deepEqual(v.quarantined, []);
  assert.deepEqual(rd(v), [
    ['gh-1', 'weather_temperature', TS_MS, 21.5],
    ['gh-1', 'weather_humidity', TS_MS, 40],
    ['box-1', 'cpu_usage_idle', TS_MS, 93.25],
    ['box-1', 'cpu_count', TS_MS, 7],
    ['box-1', 'mem_used_percent', NOW, 41.5],
  ]);
  assert.ok(v.readings.every((r) => r.seq === null));
});

test('mapping: configured sensor tags, passthrough measurements, precision', () => {
  const v = run(`sensor,device=dev-7,host=box temperature=20.5 ${TS_MS / 1000}`, {
    sensorTags: ['device', 'host'],
    passthroughMeasurements: ['sensor'],
    precision: 's',
  });
  assert.deepEqual(rd(v), [['dev-7', 'temperature', TS_MS, 20.5]]);
  for (const [p, ts] of [
    ['ns', TS_NS],
    ['us', `${TS_MS}000`],
    ['ms', `${TS_MS}`],
    ['s', `${TS_MS / 1000}`],
  ] as const) {
    assert.equal(run(`m,host=h v=1 ${ts}`, { precision: p }).readings[0].ts, TS_MS, p);
  }
});

test('a bad field quarantines that field only; its payload is a one-field line as sent', () => {
  const v = run(`weather,sensor_id=gh-1,site=north\\ wing temperature=99,ok=true,humidity=45 ${TS_NS}`);
  assert.deepEqual(rd(v), [['gh-1', 'weather_humidity', TS_MS, 45]]);
  assert.deepEqual(
    v.quarantined.map((q) => [q.reason, q.metric, q.payload]),
    [
      ['out_of_range', 'weather_temperature', `weather,sensor_id=gh-1,site=north\\ wing temperature=99 ${TS_NS}`],
      ['schema', 'weather_ok', `weather,sensor_id=gh-1,site=north\\ wing ok=true ${TS_NS}`],
    ],
  );
  assert.match(v.quarantined[0].detail, /^line 1: metric "weather_temperature" = 99 is above the maximum 50 °C registered for sensor "gh-1"/);
  assert.ok(v.quarantined.every((q) => q.ts === TS_MS && q.sensorId === 'gh-1'));
});

test('owns() is applied per line', () => {
  const v = run(['m,host=mine v=1', 'm,host=theirs v=1', 'm,host=mine w=2'].join('\n'), {}, { topicSensorId: null, owns: (s) => s === 'mine' });
  assert.deepEqual(
    v.readings.map((r) => r.metric),
    ['m_v', 'm_w'],
  );
  assert.equal(v.quarantined[0].reason, 'identity_mismatch');
  assert.match(v.quarantined[0].detail, /^line 2: sensor "theirs"/);
});

// ------------------------------------------------------------------------------------------
// every reason code

interface Case {
  name: string;
  text: string | Buffer;
  reason: QuarantineReason;
  detail: RegExp[];
  opts?: Partial<LineProtocolOptions>;
  scope?: MessageScope;
  c?: ValidateContext;
  accepted?: number;
  sensorId?: string | null;
  metric?: string | null;
}

const cases: Case[] = [
  { name: 'payload over the limit', text: `m,host=a v=1 ${TS_NS}\n`.repeat(10), c: ctx({ config: { maxPayloadBytes: 100 } }), reason: 'payload_too_large', detail: [/at most 100 bytes/] },
  { name: 'empty payload', text: '', reason: 'schema', detail: [/payload is empty/] },
  { name: 'only comments', text: '# nothing\n\n', reason: 'schema', detail: [/no lines/] },
  { name: 'not UTF-8', text: Buffer.from([0x6d, 0x20, 0x76, 0x3d, 0x31, 0xc3, 0x28]), reason: 'schema', detail: [/not valid UTF-8: byte 0x28 at offset 6/] },
  { name: 'syntax error', text: 'weather,host=a temperature', reason: 'schema', detail: [/^line 1: field "temperature" has no "="/, /InfluxDB line protocol/] },
  { name: 'no sensor tag', text: 'weather,site=a temperature=1', reason: 'schema', detail: [/no sensor tag: add "sensor_id" or "host"/] },
  { name: 'string field', text: 'weather,host=a state="on"', reason: 'schema', detail: [/field "state" is a string \("on"\)/], metric: 'weather_state', sensorId: 'a' },
  { name: 'boolean field', text: 'weather,host=a open=F', reason: 'schema', detail: [/field "open" is a boolean \(false\)/] },
  { name: 'sensor tag outside the id alphabet', text: 'weather,host=my\\ box v=1', reason: 'invalid_id', detail: [/tag host "my box" is not a valid id/], sensorId: null },
  { name: 'metric name from a measurement with a space', text: 'my\\ weather,host=a v=1', reason: 'invalid_id', detail: [/metric name "my weather_v" is not a valid id/, /made from measurement "my weather" and field "v"/], metric: null, sensorId: 'a' },
  { name: 'another device\'s sensor', text: 'weather,host=b v=1', scope: { topicSensorId: null, owns: (s) => s === 'a' }, reason: 'identity_mismatch', detail: [/sensor "b" is not one of the sensors/], sensorId: 'b' },
  { name: 'timestamp not an integer', text: 'weather,host=a v=1 1700000000.5', reason: 'bad_timestamp', detail: [/timestamp "1700000000.5" is not an integer/] },
  { name: 'timestamp beyond any date', text: `weather,host=a v=1 ${'9'.repeat(25)}`, opts: { precision: 's' }, reason: 'bad_timestamp', detail: [/beyond any date/] },
  { name: 'seconds sent as ns (1970)', text: `weather,host=a v=1 ${TS_MS / 1000}`, reason: 'bad_timestamp', detail: [/1970-01-01/, /before validation\.minTimestamp/] },
  { name: 'ms sent with precision s', text: `weather,host=a v=1 ${TS_MS}`, opts: { precision: 's' }, reason: 'future_timestamp', detail: [/ahead of the server clock/, /check the write precision/] },
  { name: 'unregistered under strict policy', text: 'weather,host=rogue v=1', c: ctx({ policy: 'strict' }), reason: 'unknown_sensor', detail: [/sensor "rogue" is not registered/], sensorId: 'rogue' },
  { name: 'NaN', text: 'weather,host=a v=NaN', reason: 'non_finite', detail: [/field "v" is NaN/], metric: 'weather_v' },
  { name: 'float overflow', text: 'weather,host=a v=1e400', reason: 'non_finite', detail: [/overflows a 64-bit double/] },
  { name: '64-bit integer beyond 2^53', text: 'weather,host=a v=9007199254740993i', reason: 'non_finite', detail: [/beyond ±2\^53/, /the integer 9007199254740993i/] },
  { name: 'unsigned beyond 2^53', text: 'weather,host=a v=18446744073709551615u', reason: 'non_finite', detail: [/unsigned integer/] },
  { name: 'out of the registered range', text: `weather,sensor_id=gh-1 temperature=-20 ${TS_NS}`, reason: 'out_of_range', detail: [/below the minimum -10 °C/] },
];

for (const c of cases) {
  test(`quarantine ${c.reason}: ${c.name}`, () => {
    const v = run(c.text, c.opts ?? {}, c.scope ?? ANY, c.c ?? ctx());
    assert.equal(v.quarantined.length, 1, JSON.stringify(v.quarantined));
    assert.equal(v.readings.length, c.accepted ?? 0);
    const q = v.quarantined[0];
    assert.equal(q.reason, c.reason, q.detail);
    for (const re of c.detail) assert.match(q.detail, re);
    if (c.metric !== undefined) assert.equal(q.metric, c.metric);
    if (c.sensorId !== undefined) assert.equal(q.sensorId, c.sensorId);
  });
}

test('every quarantine reason except invalid_json and conflicting_duplicate has a case', () => {
  // invalid_json does not apply: line protocol is not JSON (its syntax errors are schema).
  const covered = new Set(cases.map((c) => c.reason));
  for (const r of ['schema', 'non_finite', 'invalid_id', 'bad_timestamp', 'future_timestamp', 'out_of_range', 'unknown_sensor', 'identity_mismatch', 'payload_too_large'] as const) {
    assert.ok(covered.has(r), r);
  }
});

test('a mixed batch: exact counts per line and field', () => {
  const v = run(
    [
      `weather,sensor_id=gh-1 temperature=20,humidity=40 ${TS_NS}`, // 2
      'garbage', // 1 schema
      `weather,host=h1 a=1,b="x",c=2i ${TS_NS}`, // 2 + 1 schema
      '# comment',
      `weather,site=x v=1 ${TS_NS}`, // 1 schema (no sensor tag)
      `weather,host=h2 v=1 1`, // 1 bad_timestamp
    ].join('\n'),
  );
  assert.equal(v.readings.length, 4);
  assert.deepEqual(
    v.quarantined.map((q) => [q.reason, q.detail.slice(0, 7)]),
    [
      ['schema', 'line 2:'],
      ['schema', 'line 3:'],
      ['schema', 'line 5:'],
      ['bad_timestamp', 'line 6:'],
    ],
  );
});

// ------------------------------------------------------------------------------------------
// property: seeded random bytes and mutated lines never throw; every item is well formed

/** A seeded uniform [0, 1) generator (the simulator's PRNG). */
function prng(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

const CHARS = ',= \\"\n\r\t#0123456789.eEiutfTF-+abcxyz_é';

function mutate(rnd: () => number, s: string): string {
  const n = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const ch = CHARS[Math.floor(rnd() * CHARS.length)];
    const op = Math.floor(rnd() * 4);
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1);
    else if (op === 1) s = s.slice(0, at) + ch + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + ch + s.slice(at + 1);
    else s = s.slice(0, at) + s.slice(at, at + Math.floor(rnd() * 12)) + s.slice(at);
  }
  return s;
}

test('property: 20,000 seeded random inputs never throw and every item is well-formed', () => {
  const rnd = prng(0x11e);
  const valid = [
    `weather,sensor_id=gh-1,site=north\\ wing temperature=21.5,humidity=40i,ok=t,label="a \\"b\\"" ${TS_NS}`,
    `cpu,cpu=cpu-total,host=box-1 usage_idle=93.25,count=7u ${TS_NS}`,
    'mem,host=box-1 used_percent=41.5',
  ].join('\n');
  const scopes: MessageScope[] = [ANY, { topicSensorId: null, owns: (s) => s.startsWith('gh') }];
  const contexts = [ctx(), ctx({ policy: 'strict' }), ctx({ config: { maxPayloadBytes: 200 } })];
  const precisions = ['ns', 'us', 'ms', 's'] as const;
  const reasons = new Map<string, number>();
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let payload: Buffer;
    if (i % 3 === 0) {
      payload = Buffer.alloc(Math.floor(rnd() * 200));
      for (let k = 0; k < payload.length; k++) payload[k] = Math.floor(rnd() * 256);
    } else {
      payload = Buffer.from(mutate(rnd, valid));
    }
    let v: Validated;
    try {
      v = validateLineProtocol(message(payload), scopes[i % 2], contexts[Math.floor(i / 2) % 3], {
        ...DEFAULT_LINE_PROTOCOL,
        precision: precisions[i % 4],
      });
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
    if (v.readings.length === 0 && v.quarantined.length === 0) assert.fail(`no outcome for ${JSON.stringify(payload.toString('latin1'))}`);
  }
  assert.ok(reasons.size >= 6, JSON.stringify([...reasons]));
  assert.ok(accepted > 1000, String(accepted));
});
