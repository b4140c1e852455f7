import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateNdjson } from '../../src/pipeline/decode/ndjson.js';
import { MAX_RECORDS } from '../../src/pipeline/decode/sensorpipe-json.js';
import { MemoryRegistry } from '../../src/core/registry.js';
import type { ValidateContext } from '../../src/pipeline/validate.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const ISO = '2024-05-01T11:59:00Z';
const ctx: ValidateContext = {
  registry: new MemoryRegistry('auto'),
  config: { maxPayloadBytes: 1 << 20, maxFutureSkewS: 300, minTimestamp: '2000-01-01T00:00:00Z', unknownSensorPolicy: 'auto', epochUnit: 'auto' },
  metricDefaults: { humidity: { unit: '%', min: 0, max: 100 } },
  clock: { now: () => NOW },
};
const run = (text: string | Buffer, owns?: (s: string) => boolean) =>
  validateNdjson({ source: 'http', topic: 'http:/v1/ingest?format=ndjson', deviceId: null, receivedAt: NOW, payload: Buffer.from(text) }, { topicSensorId: null, owns }, ctx);

test('NDJSON: one record per line, CRLF and blank lines, BOM; details name the line', () => {
  const v = run(
    '\uFEFF' +
      [
        `{"sensor_id":"a","ts":"${ISO}","temperature":20}`,
        '',
        `{"sensor_id":"a","ts":"${ISO}","readings":{"humidity":140,"co2":400}}\r`,
        'not json',
        '7',
        `{"sensor_id":"b","ts":"${ISO}","temperature":1}`,
        '   ',
      ].join('\n'),
    (s) => s === 'a',
  );
  assert.deepEqual(
    v.readings.map((r) => `${r.sensorId}:${r.metric}`),
    ['a:temperature', 'a:co2'],
  );
  assert.deepEqual(
    v.quarantined.map((q) => [q.reason, q.detail.slice(0, 8)]),
    [
      ['out_of_range', 'line 3: '],
      ['invalid_json', 'line 4: '],
      ['schema', 'line 5 i'],
      ['identity_mismatch', 'line 6: '],
    ],
  );
  assert.equal(v.quarantined[1].payload, 'not json');
});

test('NDJSON: whole-payload problems', () => {
  assert.equal(run('').quarantined[0].reason, 'invalid_json');
  assert.equal(run('\n \n').quarantined[0].reason, 'invalid_json');
  assert.equal(run(Buffer.from([0x7b, 0xff, 0x7d])).quarantined[0].reason, 'invalid_json');
  const many = `{"sensor_id":"a","ts":"${ISO}","t":1}\n`.repeat(MAX_RECORDS + 1);
  const v = run(many);
  assert.equal(v.quarantined.length, 1);
  assert.equal(v.quarantined[0].reason, 'schema');
  assert.match(v.quarantined[0].detail, /at most 10000 records/);
});
