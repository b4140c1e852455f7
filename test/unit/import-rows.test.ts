import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMapping, loadMapping, type Mapping } from '../../src/import/mapping.js';
import { RowMapper, type ImportEntry, type RowOutcome } from '../../src/import/rows.js';
import { LineProgress } from '../../src/import/progress.js';
import { validateImportRows } from '../../src/pipeline/decode/import-rows.js';
import { MemoryRegistry } from '../../src/core/registry.js';
import type { ValidateContext } from '../../src/pipeline/validate.js';

function mapping(tree: Record<string, unknown>): Mapping {
  const r = checkMapping(tree, 'test');
  assert.deepEqual(r.problems, []);
  return r.mapping!;
}

const AIR = mapping({
  delimiter: ';',
  decimal: ',',
  timestamp: { columns: ['Date', 'Time'], format: 'dd/MM/yyyy HH.mm.ss', timezone: '+01:00' },
  sensor: { id: 'air' },
  metrics: { 'CO(GT)': { name: 'co', unit: 'mg/m3' }, T: 'temperature' },
  missing: ['-200', ''],
});
const COLS = ['Date', 'Time', 'CO(GT)', 'T', ''];

function entry(o: RowOutcome): ImportEntry {
  assert.equal(o.kind, 'entry');
  return (o as { entry: ImportEntry }).entry;
}

test('split date and time, day first, 18.00.00 times, a fixed offset, decimal commas', () => {
  const m = new RowMapper(AIR, COLS, 'air.csv');
  const e = entry(m.fromFields(['10/03/2004', '18.00.00', '2,6', '13,6', ''], 2, 'raw'));
  assert.deepEqual(e, { at: 'air.csv:2', record: { sensor_id: 'air', ts: '2004-03-10T17:00:00.000Z', readings: { co: 2.6, temperature: 13.6 } } });
});

test('missing markers: -200 also as -200,0 and the empty value are skipped and counted; a row with nothing left is all_missing', () => {
  const m = new RowMapper(AIR, COLS, 'air.csv');
  const o = m.fromFields(['10/03/2004', '19.00.00', '-200,0', '12', ''], 3, 'raw');
  assert.equal(o.kind, 'entry');
  assert.deepEqual((o as { entry: { record: { readings: unknown } } }).entry.record.readings, { temperature: 12 });
  assert.equal((o as { missing: number }).missing, 1);
  assert.deepEqual(m.fromFields(['10/03/2004', '20.00.00', '-200', '', ''], 4, 'raw'), { kind: 'all_missing', missing: 2 });
  assert.deepEqual(m.fromFields([';', '', '', '', ''].map(() => ''), 5, ';;;;'), { kind: 'blank' });
});

test('a row with more or fewer fields is a bad_row problem, not guessed; text values pass on as text', () => {
  const m = new RowMapper(AIR, COLS, 'air.csv');
  const short = entry(m.fromFields(['10/03/2004', '18.00.00', '2,6'], 7, '10/03/2004;18.00.00;2,6'));
  assert.ok('problem' in short);
  assert.equal(short.problem.reason, 'bad_row');
  assert.match(short.problem.detail, /air\.csv:7: the row has 3 fields but the header names 5/);
  assert.equal(short.raw, '10/03/2004;18.00.00;2,6');
  const long = entry(m.fromFields(['a', 'b', 'c', 'd', 'e', 'f'], 8, 'x'));
  assert.ok('problem' in long && long.problem.reason === 'bad_row');
  const text = entry(m.fromFields(['10/03/2004', '18.00.00', 'n/a', '1', ''], 9, 'x'));
  assert.ok('record' in text);
  assert.equal(text.record.readings.co, 'n/a');
});

test('timestamps: unparseable and empty are bad_timestamp; a local time in a DST gap does not exist; epoch and ISO', () => {
  const m = new RowMapper(AIR, COLS, 'air.csv');
  const bad = entry(m.fromFields(['2004-03-10', '18:00', '1', '1', ''], 2, 'x'));
  assert.ok('problem' in bad && bad.problem.reason === 'bad_timestamp');
  assert.match(bad.problem.detail, /does not match the format "dd\/MM\/yyyy HH\.mm\.ss"/);
  const empty = entry(m.fromFields(['', '', '1', '1', ''], 3, 'x'));
  assert.ok('problem' in empty && /is empty/.test(empty.problem.detail));

  const rome = new RowMapper({ ...AIR, timestamp: { ...AIR.timestamp, timezone: 'Europe/Rome' } }, COLS, 'air.csv');
  assert.match(String(rome.timestamp('28/03/2004 02.30.00')), /does not exist in Europe\/Rome/);
  assert.equal(rome.timestamp('28/03/2004 03.30.00'), Date.UTC(2004, 2, 28, 1, 30));
  assert.equal(rome.timestamp('10/07/2004 12.00.00'), Date.UTC(2004, 6, 10, 10, 0));

  const epoch = new RowMapper({ ...AIR, timestamp: { columns: ['Date'], format: 'epoch_s', timezone: 'UTC' } }, COLS, 'e.csv');
  assert.equal(epoch.timestamp('1700000000.5'), 1_700_000_000_500);
  const iso = new RowMapper({ ...AIR, timestamp: { columns: ['Date'], format: 'iso', timezone: '+02:00' } }, COLS, 'i.csv');
  assert.equal(iso.timestamp('2024-05-01T12:00:00'), Date.UTC(2024, 4, 1, 10));
  assert.equal(iso.timestamp('2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
});

test('NDJSON lines: keys are the columns; null is missing; a non-object line is bad_row', () => {
  const m = mapping({ timestamp: { columns: ['t'], format: 'epoch_ms' }, sensor: { column: 'dev' }, metrics: { temp: 'temperature', hum: 'humidity' }, missing: ['NA'] });
  const r = new RowMapper(m, ['t', 'dev', 'temp', 'hum'], 'x.ndjson');
  const e = entry(r.fromJsonLine('{"t": 1700000000000, "dev": "s1", "temp": 21.5, "hum": null}', 1));
  assert.deepEqual(e, { at: 'x.ndjson:1', record: { sensor_id: 's1', ts: '2023-11-14T22:13:20.000Z', readings: { temperature: 21.5 } } });
  const na = r.fromJsonLine('{"t": 1700000000000, "dev": "s1", "temp": "NA"}', 2);
  assert.equal(na.kind, 'all_missing');
  const arr = entry(r.fromJsonLine('[1,2]', 3));
  assert.ok('problem' in arr && arr.problem.reason === 'bad_row');
  const broken = entry(r.fromJsonLine('{"t": ', 4));
  assert.ok('problem' in broken && broken.problem.reason === 'bad_row');
});

test('a mapping naming a column the file lacks is refused before anything is imported, listing the columns', () => {
  assert.throws(() => new RowMapper(AIR, ['Date', 'Time', 'T'], 'x.csv'), /metric column "CO\(GT\)" is not a column of this file; its columns are "Date", "Time", "T"/);
});

test('mapping problems are all named: bad zone, bad metric name, no header columns; flags fill a mapping', () => {
  const r = checkMapping(
    { header: { present: false }, timestamp: { columns: ['t'], timezone: 'Mars/Olympus' }, sensor: { id: 's' }, metrics: { 'CO(GT)': {} } },
    'm.yaml',
  );
  assert.equal(r.mapping, null);
  assert.equal(r.problems.length, 3, r.problems.join('\n'));
  assert.match(r.problems.join('\n'), /Mars\/Olympus/);
  assert.match(r.problems.join('\n'), /"CO\(GT\)" is not a valid id/);
  assert.match(r.problems.join('\n'), /header\.columns/);

  const m = loadMapping(undefined, { tsColumn: 'Date,Time', tsFormat: 'dd/MM/yyyy HH.mm.ss', sensorId: 's1', metrics: 'T:temperature:°C,RH', delimiter: ';', decimalComma: true, missing: '-200,NA,' });
  assert.deepEqual(m.timestamp.columns, ['Date', 'Time']);
  assert.deepEqual(m.metrics, { T: { name: 'temperature', unit: '°C' }, RH: {} });
  assert.deepEqual(m.missing, ['-200', 'NA', '']);
  assert.equal(m.decimal, ',');
});

test('the import decoder: records validated like any record, problems kept with their reason, forged reasons refused', () => {
  const NOW = Date.UTC(2024, 4, 1);
  const ctx: ValidateContext = {
    registry: new MemoryRegistry('auto'),
    config: { maxPayloadBytes: 1 << 20, maxFutureSkewS: 300, minTimestamp: '2000-01-01T00:00:00Z', unknownSensorPolicy: 'auto', epochUnit: 'auto' },
    metricDefaults: { humidity: { unit: '%', min: 0, max: 100 } },
    clock: { now: () => NOW },
  };
  const lines = [
    { at: 'f.csv:2', record: { sensor_id: 's', ts: '2024-04-30T00:00:00.000Z', readings: { temperature: 1, humidity: 140, co: 'n/a' } } },
    { at: 'f.csv:3', problem: { reason: 'bad_row', detail: 'f.csv:3: the row has 2 fields' }, raw: 'a;b' },
    { at: 'f.csv:4', problem: { reason: 'auth_failed', detail: 'x' }, raw: 'a' },
  ];
  const v = validateImportRows(
    { source: 'import', topic: 'import:ndjson', deviceId: null, receivedAt: NOW, payload: Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n')) },
    { topicSensorId: null },
    ctx,
  );
  assert.deepEqual(v.readings.map((r) => [r.metric, r.value]), [['temperature', 1]]);
  assert.deepEqual(v.quarantined.map((q) => q.reason).sort(), ['bad_row', 'non_finite', 'out_of_range', 'schema']);
  const badRow = v.quarantined.find((q) => q.reason === 'bad_row')!;
  assert.equal(badRow.payload, 'a;b');
  assert.match(v.quarantined.find((q) => q.reason === 'out_of_range')!.detail, /f\.csv:2|humidity/);
});

test('progress without a terminal: a line every few seconds of the clock, with rate, percentage and ETA', () => {
  let now = 0;
  const out: string[] = [];
  const p = new LineProgress({ write: (s: string) => out.push(s) }, { now: () => now }, 5000);
  p.start(1000);
  now = 1000;
  p.update(100, 50);
  assert.equal(out.length, 0);
  now = 5000;
  p.update(250, 500);
  assert.deepEqual(out, ['import: 500 rows, 100 rows/s, 25 %, ETA 15 s\n']);
});
