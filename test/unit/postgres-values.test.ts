// Conversions of the PostgreSQL warehouse (pure functions) and the warehouse config section.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { csvLine, isoFromPgTimestamp, msFromPg, pgTs } from '../../src/sinks/warehouse/postgres-values.js';

test('timestamps: EpochMs -> literal -> PostgreSQL text -> ISO -> EpochMs keeps microseconds', () => {
  const ms = Date.UTC(2024, 4, 1, 12, 0, 0) + 123.456;
  assert.equal(pgTs(ms), '2024-05-01 12:00:00.123456');
  assert.equal(pgTs(Date.UTC(2024, 4, 1)), '2024-05-01 00:00:00.000000');
  // PostgreSQL prints trailing zeros away; the ISO form is padded as DuckDB's is.
  assert.equal(isoFromPgTimestamp('2024-05-01 12:00:00'), '2024-05-01T12:00:00.000Z');
  assert.equal(isoFromPgTimestamp('2024-05-01 12:00:00.5'), '2024-05-01T12:00:00.500Z');
  assert.equal(isoFromPgTimestamp('2024-05-01 12:00:00.1234'), '2024-05-01T12:00:00.123400Z');
  assert.equal(isoFromPgTimestamp('2024-05-01 12:00:00.123456+00'), '2024-05-01T12:00:00.123456Z');
  assert.equal(isoFromPgTimestamp('2024-05-01 14:00:00+02'), '2024-05-01T12:00:00.000Z');
  assert.equal(isoFromPgTimestamp('infinity'), 'infinity');
  assert.equal(msFromPg(isoFromPgTimestamp('2024-05-01 12:00:00.123456')), ms);
  assert.equal(msFromPg(null), null);
});

test('COPY CSV: strings quoted with doubled quotes, NULL as an empty unquoted field', () => {
  assert.equal(csvLine(['a', 'say "hi",\nthere', null, 1.5, 7n, true, '']), '"a","say ""hi"",\nthere",,1.5,7,true,""\n');
});

test('config: warehouse.kind postgres needs url or host; schema must be a plain identifier', () => {
  const bad = configSchema.safeParse({ warehouse: { kind: 'postgres' } });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /warehouse\.postgres\.url or warehouse\.postgres\.host/);
  assert.equal(configSchema.safeParse({ warehouse: { kind: 'postgres', postgres: { url: 'postgres://x@h/db', schema: 'Bad-Name' } } }).success, false);
  const ok = configSchema.parse({ warehouse: { kind: 'postgres', postgres: { host: 'db', password: 'pw' } } });
  const duckdb = { memoryLimit: null, threads: null };
  assert.deepEqual(ok.warehouse, { kind: 'postgres', duckdb, postgres: { host: 'db', password: 'pw', schema: 'sensorpipe', poolSize: 4 } });
  assert.deepEqual(configSchema.parse({}).warehouse, { kind: 'duckdb', duckdb });
});

test('config check --print hides passwords, also inside URLs', async () => {
  const { hideSecrets } = await import('../../src/cli/commands/config-check.js');
  const config = configSchema.parse({ warehouse: { kind: 'postgres', postgres: { url: 'postgres://sp:s3cr%40t@db:5432/iot', password: 'pw' } } });
  const printed = JSON.stringify(config, hideSecrets);
  assert.doesNotMatch(printed, /s3cr|"pw"/);
  assert.match(printed, /postgres:\/\/sp:\*\*\*@db:5432\/iot/);
});

test('config check --print hides notifier webhook paths, tokens and keys', async () => {
  const { hideSecrets } = await import('../../src/cli/commands/config-check.js');
  const config = configSchema.parse({
    notifiers: [{ name: 'ops', kind: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET' }],
    spool: { jetstream: { token: 'nats-secret' } },
    mqttExternal: { url: 'mqtt://broker:1883', password: 'mq-secret' },
  });
  const printed = JSON.stringify(config, hideSecrets);
  assert.doesNotMatch(printed, /XXXXSECRET|nats-secret|mq-secret/);
  assert.match(printed, /"https:\/\/hooks\.slack\.com\/\*\*\*"/);
  assert.match(printed, /"mqtt:\/\/broker:1883"/, 'a URL without credentials is shown as it is');
});
