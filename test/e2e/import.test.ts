/**
 * `sensorpipe import` end to end: the real UCI files through the ready mappings into a real data dir
 * (spool, DuckDB, lake), counts checked against an independent plain parse of the files; a second
 * import stores nothing new; a file with broken rows through a running server (HTTP) lands in
 * quarantine with its reasons; the CLI with flags and --json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMapping } from '../../src/import/mapping.js';
import { noProgress } from '../../src/import/progress.js';
import { resolveInputs, runImport } from '../../src/import/run-import.js';
import { LocalImportSink, ServerImportSink } from '../../src/import/sinks.js';
import { systemClock, silentLogger } from '../../src/core/types.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { dataDir } from '../helpers/quality-data.js';
import { freePort, startChild } from '../helpers/child-server.js';
import { rows, startServer, tempDir, testConfig } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAPPINGS = join(ROOT, 'examples/mappings');

async function importLocal(dir: string, input: string, mappingFile: string) {
  const sink = await LocalImportSink.open(testConfig(dir), { clock: systemClock, logger: silentLogger });
  try {
    return await runImport(resolveInputs(input), loadMapping(mappingFile, {}), sink, { progress: noProgress });
  } finally {
    await sink.close();
  }
}

async function count(dir: string, sql: string): Promise<number> {
  const wh = await DuckDbWarehouse.open({ path: join(dir, 'warehouse.duckdb'), metricDefaults: {}, readOnly: true });
  try {
    return Number((await wh.query(sql)).rows[0]?.n);
  } finally {
    await wh.close();
  }
}

/** Plain parse of AirQualityUCI.csv: `;` fields, 13 metric columns (2..14), -200 or empty = missing. */
function airTruth() {
  const lines = readFileSync(join(dataDir(), 'uci-air-quality', 'AirQualityUCI.csv'), 'latin1').split('\r\n').slice(1).filter((l) => l !== '');
  const t = { rows: lines.length, blank: 0, allMissing: 0, missing: 0, values: 0, badRows: 0 };
  for (const l of lines) {
    const f = l.split(';');
    if (f.every((x) => x === '')) {
      t.blank++;
      continue;
    }
    if (f.length !== 17) t.badRows++;
    const present = f.slice(2, 15).filter((x) => x !== '' && Number(x.replace(',', '.')) !== -200).length;
    t.values += present;
    t.missing += 13 - present;
    if (present === 0) t.allMissing++;
  }
  return t;
}

test('UCI Air Quality: the ready mapping imports every present value; a second import stores nothing new', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-import-air-');
  try {
    const truth = airTruth();
    const file = join(dataDir(), 'uci-air-quality', 'AirQualityUCI.csv');
    const first = await importLocal(dir, file, join(MAPPINGS, 'uci-air-quality.yaml'));
    assert.equal(first.rows, truth.rows);
    assert.equal(first.blankRows, truth.blank);
    assert.equal(first.allMissingRows, truth.allMissing);
    assert.equal(first.missingValues, truth.missing);
    assert.equal(first.readingsAccepted, truth.values);
    assert.equal(first.quarantined, truth.badRows);
    assert.equal(first.newReadings, truth.values, 'every accepted reading is stored once');
    assert.equal(await count(dir, 'SELECT count(*) AS n FROM readings'), truth.values);
    assert.equal(await count(dir, "SELECT count(*) AS n FROM sensor_metrics WHERE sensor_id = 'uci-air-multisensor' AND metric = 'co_gt' AND unit = 'mg/m3'"), 1, 'the mapping unit is recorded');
    assert.ok(first.unitsSet > 0);
    // 10/03/2004 18.00.00 at +01:00 is 17:00 UTC; decimal comma read: CO(GT) 2,6 -> 2.6
    assert.equal(await count(dir, "SELECT value AS n FROM readings WHERE metric = 'co_gt' AND ts = TIMESTAMP '2004-03-10 17:00:00'"), 2.6);

    const second = await importLocal(dir, file, join(MAPPINGS, 'uci-air-quality.yaml'));
    assert.equal(second.readingsAccepted, truth.values);
    assert.equal(second.newReadings, 0, 'the second import only finds duplicates');
    assert.equal(second.unitsSet, 0, 'units already recorded are left alone');
    assert.equal(await count(dir, 'SELECT count(*) AS n FROM readings'), truth.values);
    assert.equal(await count(dir, "SELECT sum(items) AS n FROM ingest_counts WHERE source = 'import' AND outcome = 'duplicate'"), truth.values);
    assert.equal(await count(dir, 'SELECT count(*) AS n FROM quarantine'), 0);
  } finally {
    cleanup();
  }
});

test('UCI Occupancy: the directory imports through the header one column short; times at +01:00', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-import-occ-');
  try {
    const occDir = join(dataDir(), 'uci-occupancy');
    let rowsTotal = 0;
    const stamps = new Set<string>();
    for (const f of readdirSync(occDir).filter((x) => x.endsWith('.txt'))) {
      const lines = readFileSync(join(occDir, f), 'utf8').split(/\r?\n/).slice(1).filter((l) => l !== '');
      rowsTotal += lines.length;
      for (const l of lines) stamps.add(l.split(',')[1].replace(/"/g, ''));
    }
    const r = await importLocal(dir, occDir, join(MAPPINGS, 'uci-occupancy.yaml'));
    assert.deepEqual(r.files, ['datatest.txt', 'datatest2.txt', 'datatraining.txt']);
    assert.equal(r.rows, rowsTotal);
    assert.equal(r.readingsAccepted, rowsTotal * 5, 'five measurements per row; the Occupancy label is not imported');
    assert.equal(r.quarantined, 0);
    assert.equal(r.newReadings, stamps.size * 5);
    assert.equal(await count(dir, "SELECT count(DISTINCT metric) AS n FROM readings WHERE sensor_id = 'uci-occupancy-room'"), 5);
    assert.equal(await count(dir, "SELECT value AS n FROM readings WHERE metric = 'temperature' AND ts = TIMESTAMP '2015-02-02 13:19:00'"), 23.7);
  } finally {
    cleanup();
  }
});

test('through a running server: broken rows are quarantined with their reason, good rows stored once even when imported twice', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-import-http-');
  const sp = await startServer(dir);
  try {
    const file = join(dir, 'mixed.csv');
    writeFileSync(
      file,
      [
        'time,device,temp,hum',
        '2024-05-01T10:00:00Z,s1,21.5,40',
        '2024-05-01T10:01:00Z,s1,21.6', // fewer fields
        '2024-05-01T10:02:00Z,s1,21.7,41,extra', // more fields
        'yesterday,s1,21.8,42', // bad timestamp
        '2024-05-01T10:04:00Z,s1,warm,43', // text value
        '2024-05-01T10:05:00Z,s2,NA,NA', // every value missing
        '2024-05-01T10:06:00Z,s2,19,',
        '',
      ].join('\n'),
    );
    const mapping = loadMapping(undefined, { tsColumn: 'time', sensorColumn: 'device', metrics: 'temp:temperature,hum:humidity', missing: 'NA,' });
    const target = { url: `http://127.0.0.1:${sp.httpPort}`, token: sp.localToken };
    const first = await runImport(resolveInputs(file), mapping, new ServerImportSink(target), { progress: noProgress });
    assert.equal(first.mode, 'server');
    assert.equal(first.rows, 7);
    assert.equal(first.allMissingRows, 1);
    assert.equal(first.readingsAccepted, 4); // 21.5, 40, 43, 19
    assert.deepEqual(first.quarantinedByReason, { bad_row: 2, bad_timestamp: 1, non_finite: 1 });
    await sp.writer.drain();
    const q = await rows<{ reason: string; detail: string; payload: string; source: string }>(sp, "SELECT reason, detail, payload, source FROM quarantine ORDER BY reason, detail");
    assert.deepEqual(q.map((x) => [x.source, x.reason]), [['import', 'bad_row'], ['import', 'bad_row'], ['import', 'bad_timestamp'], ['import', 'non_finite']]);
    assert.match(q[0].detail, /mixed\.csv:3: the row has 3 fields but the header names 4/);
    assert.equal(q[0].payload, '2024-05-01T10:01:00Z,s1,21.6');

    const second = await runImport(resolveInputs(file), mapping, new ServerImportSink(target), { progress: noProgress });
    assert.equal(second.readingsAccepted, 4);
    await sp.writer.drain();
    const stored = await rows<{ n: bigint }>(sp, 'SELECT count(*) AS n FROM readings');
    assert.equal(Number(stored[0].n), 4, 'the second import changed no reading');
    const dup = await rows<{ n: number }>(sp, "SELECT sum(items)::INTEGER AS n FROM ingest_counts WHERE source = 'import' AND outcome = 'duplicate'");
    assert.equal(dup[0].n, 4);
  } finally {
    await sp.stop();
    cleanup();
  }
});

test('CLI: flags for a simple TSV, NDJSON on stdin, --json report on stdout, exit 2 naming the fix for a bad mapping', () => {
  const { dir, cleanup } = tempDir('sensorpipe-import-cli-');
  try {
    const file = join(dir, 'simple.tsv');
    writeFileSync(file, 'epoch\tt\n1714557600\t20.5\n1714557660\t20,75\n');
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', join(dir, 'data'), 'import', ...args], { cwd: ROOT, encoding: 'utf8' });
    const ok = cli(file, '--ts-column', 'epoch', '--ts-format', 'epoch_s', '--sensor-id', 'lab-1', '--metrics', 't:temperature:°C', '--decimal-comma', '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const report = JSON.parse(ok.stdout) as { readingsAccepted: number; newReadings: number; mode: string };
    assert.deepEqual([report.mode, report.readingsAccepted, report.newReadings], ['local', 2, 2]);
    assert.equal(ok.stderr, '', 'no progress lines for a short import on a pipe');

    // NDJSON on stdin: the same readings again (duplicates) plus a line that is not an object
    const ndjson = '{"time": 1714557600000, "dev": "lab-1", "temp": 20.5}\n[1]\n{"time": 1714557720000, "dev": "lab-2", "temp": "NA"}\n';
    const stdin = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', join(dir, 'data'), 'import', '-', '--format', 'ndjson', '--ts-column', 'time', '--ts-format', 'epoch_ms', '--sensor-column', 'dev', '--metrics', 'temp:temperature', '--missing', 'NA', '--json'],
      { cwd: ROOT, encoding: 'utf8', input: ndjson },
    );
    assert.equal(stdin.status, 0, stdin.stderr);
    const r2 = JSON.parse(stdin.stdout) as { files: string[]; rows: number; readingsAccepted: number; newReadings: number; allMissingRows: number; quarantinedByReason: Record<string, number> };
    assert.deepEqual([r2.files, r2.rows, r2.readingsAccepted, r2.newReadings, r2.allMissingRows], [['stdin'], 3, 1, 0, 1]);
    assert.deepEqual(r2.quarantinedByReason, { bad_row: 1 });

    const bad = cli(file, '--ts-column', 'epoch', '--sensor-id', 'lab 1', '--metrics', 't');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /sensor\.id "lab 1" is not a valid id/);
    assert.match(bad.stderr, /docs\/import\.md/);
  } finally {
    cleanup();
  }
});

test('CLI with a server running on the data dir: import finds it and goes through POST /v1/ingest/import', async (t) => {
  const { dir, cleanup } = tempDir('sensorpipe-import-child-');
  t.after(cleanup);
  const dataDirPath = join(dir, 'data');
  const server = startChild({ dataDir: dataDirPath, mqttPort: await freePort() });
  t.after(() => server.proc.kill('SIGKILL'));
  await server.ready;
  const file = join(dir, 'two.csv');
  writeFileSync(file, 'time,temp\n2024-05-01T10:00:00Z,21.5\n2024-05-01T10:01:00Z\n');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dataDirPath, 'import', file, '--ts-column', 'time', '--sensor-id', 'lab-9', '--metrics', 'temp:temperature', '--json'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { mode: string; readingsAccepted: number; newReadings: number | null; quarantinedByReason: Record<string, number> };
  assert.deepEqual([report.mode, report.readingsAccepted, report.newReadings, report.quarantinedByReason], ['server', 1, null, { bad_row: 1 }]);
  // The server writes in batches; poll until the reading is queryable through it.
  let out = '';
  for (let i = 0; i < 100 && !out.includes('21.5'); i++) {
    out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--data-dir', dataDirPath, 'query', '--json', "select source, value from readings where sensor_id = 'lab-9'"], { cwd: ROOT, encoding: 'utf8' }).stdout;
  }
  assert.match(out, /"source":"import","value":21.5/);
  server.proc.kill('SIGTERM');
  assert.equal((await server.exited).code, 0, server.output());
});
