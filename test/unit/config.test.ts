import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkConfig, envOverrides, loadConfig, ConfigError } from '../../src/config/load.js';
import { tempDir } from '../helpers/server.js';

test('defaults: data in ./data, MQTT 1883, HTTP 8080, not demo', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.dataDir, './data');
  assert.equal(c.mqtt.port, 1883);
  assert.equal(c.http.port, 8080);
  assert.equal(c.demo, false);
  assert.equal(c.validation.unknownSensorPolicy, 'auto');
});

test('file < environment < flags', (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const file = join(tmp.dir, 'sp.yaml');
  writeFileSync(file, 'dataDir: /srv/a\nmqtt:\n  port: 1884\nhttp:\n  port: 9000\nvalidation:\n  maxFutureSkewS: 60\n');
  const c = loadConfig({ file, env: { SENSORPIPE_MQTT__PORT: '1885', SENSORPIPE_VALIDATION__MAX_FUTURE_SKEW_S: '30' }, flags: { http: { port: 9001 } } });
  assert.equal(c.dataDir, '/srv/a');
  assert.equal(c.mqtt.port, 1885);
  assert.equal(c.http.port, 9001);
  assert.equal(c.validation.maxFutureSkewS, 30);
});

test('environment names map to setting paths; non-settings are ignored', () => {
  assert.deepEqual(envOverrides({ SENSORPIPE_DATA_DIR: '/x', SENSORPIPE_WRITER__FLUSH_INTERVAL_MS: '20', SENSORPIPE_DEMO: 'true', SENSORPIPE_TOKEN: 't', SENSORPIPE_CRASH_AT: 'a:1', PATH: '/bin' }), {
    dataDir: '/x',
    writer: { flushIntervalMs: 20 },
    demo: true,
  });
});

test('every problem is reported at once, each with its path', (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const file = join(tmp.dir, 'bad.yaml');
  writeFileSync(file, 'mqtt:\n  port: 70000\nhttp:\n  port: "eighty"\nvalidation:\n  unknownSensorPolicy: sometimes\nlake:\n  partitioning: weekly\nbogus: 1\n');
  const r = checkConfig({ file, env: {} });
  assert.equal(r.config, undefined);
  const paths = r.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ['', 'http.port', 'lake.partitioning', 'mqtt.port', 'validation.unknownSensorPolicy']);
  assert.match(r.problems.find((p) => p.path === '')!.message, /bogus/);
  assert.throws(() => loadConfig({ file, env: {} }), (e: unknown) => e instanceof ConfigError && /5 problem/.test(e.message));
});

test('unreadable or non-YAML files give one clear problem', (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  assert.match(checkConfig({ file: join(tmp.dir, 'missing.yaml'), env: {} }).problems[0].message, /cannot read/);
  const file = join(tmp.dir, 'broken.yaml');
  writeFileSync(file, 'mqtt: [unclosed\n');
  assert.match(checkConfig({ file, env: {} }).problems[0].message, /not valid YAML/);
});

test('job names stay snake_case in environment names: SENSORPIPE_JOBS__LAKE_COMPACT__MIN_FILES sets jobs.lake_compact.minFiles', () => {
  const c = loadConfig({ env: { SENSORPIPE_JOBS__LAKE_COMPACT__MIN_FILES: '8', SENSORPIPE_JOBS__ROLLUP_1H__GRACE_S: '60', SENSORPIPE_JOBS__RETENTION__KEEP_DAYS__READINGS: '30' } });
  assert.equal(c.jobs.lake_compact.minFiles, 8);
  assert.equal(c.jobs.rollup_1h.graceS, 60);
  assert.equal(c.jobs.retention.keepDays.readings, 30);
});

test('warehouse.duckdb limits: sizes in DuckDB syntax from file or environment; a bare number is refused with an example', () => {
  const c = loadConfig({ env: { SENSORPIPE_WAREHOUSE__DUCKDB__MEMORY_LIMIT: '256MB', SENSORPIPE_WAREHOUSE__DUCKDB__THREADS: '1' } });
  assert.deepEqual(c.warehouse.duckdb, { memoryLimit: '256MB', threads: 1 });
  assert.deepEqual(loadConfig({}).warehouse.duckdb, { memoryLimit: null, threads: null });
  assert.throws(() => loadConfig({ env: { SENSORPIPE_WAREHOUSE__DUCKDB__MEMORY_LIMIT: '256' } }), /warehouse\.duckdb\.memoryLimit.*'512MB'/s);
});
