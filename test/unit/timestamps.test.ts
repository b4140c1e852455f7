import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  detectEpochUnit,
  epochToMs,
  explainTimestamp,
  formatMs,
  parseIsoTimestamp,
  parseTimestamp,
} from '../../src/pipeline/timestamps.js';

const T = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z

test('ISO-8601 with a zone: accepted forms', () => {
  const cases: [string, number][] = [
    ['2024-05-01T12:00:00Z', T],
    ['2024-05-01T12:00:00z', T],
    ['2024-05-01t12:00:00Z', T],
    ['2024-05-01 12:00:00Z', T],
    ['2024-05-01T12:00Z', T],
    ['2024-05-01T14:00:00+02:00', T],
    ['2024-05-01T14:00:00+0200', T],
    ['2024-05-01T14:00:00+02', T],
    ['2024-05-01T06:30:00-05:30', T],
    ['2024-05-01T12:00:00-00:00', T],
    ['2024-05-02T01:00:00+13:00', T],
    ['2024-05-01T12:00:00.123Z', T + 123],
    ['2024-05-01T12:00:00,5Z', T + 500],
    ['2024-05-01T12:00:00.1Z', T + 100],
    ['2024-05-01T12:00:00.123456Z', T + 123], // µs rounded down
    ['2024-05-01T12:00:00.999999999Z', T + 999], // ns rounded down, never up into the next second
    ['2024-05-01T14:00:00.250+02:00', T + 250],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['1970-01-01T00:00:00Z', 0],
    ['1969-12-31T23:59:59.999Z', -1],
    ['2000-01-01T00:00:00Z', 946684800000],
    ['2099-12-31T23:59:59Z', Date.UTC(2099, 11, 31, 23, 59, 59)],
    ['0050-06-01T00:00:00Z', Date.parse('0050-06-01T00:00:00Z')],
  ];
  for (const [s, want] of cases) assert.equal(parseIsoTimestamp(s), want, s);
});

test('ISO-8601 agrees with Date.parse on random valid instants', () => {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 2000; i++) {
    const ms = Math.floor(rnd() * 4e12);
    const iso = new Date(ms).toISOString();
    assert.equal(parseIsoTimestamp(iso), ms, iso);
    const offMin = Math.floor(rnd() * 28 * 60) - 14 * 60;
    const local = new Date(ms + offMin * 60000).toISOString().slice(0, 23);
    const sign = offMin < 0 ? '-' : '+';
    const a = Math.abs(offMin);
    const z = `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
    assert.equal(parseIsoTimestamp(local + z), ms, local + z);
  }
});

test('ISO-8601 refused forms, with the reason', () => {
  const cases: [string, RegExp][] = [
    ['2024-05-01T12:00:00', /no time zone/],
    ['2024-05-01T12:00:00.123', /no time zone/],
    ['2024-05-01', /no time and no zone/],
    ['2024-13-01T00:00:00Z', /month 13/],
    ['2023-02-29T00:00:00Z', /day 29 does not exist in 2023-02/],
    ['2024-04-31T00:00:00Z', /day 31/],
    ['2024-05-01T24:00:00Z', /hour 24/],
    ['2024-05-01T12:60:00Z', /minute 60/],
    ['2024-05-01T12:00:60Z', /leap second/],
    ['2024-05-01T12:00:00.Z', /decimal point/],
    ['2024-05-01T12:00:00+2:00', /zone offset/],
    ['2024-05-01T12:00:00+24:00', /zone offset \+24:0 does not exist/],
    ['2024-05-01T12:00:00Z trailing', /unexpected text/],
    ['2024-05-01T12:00:00 Z', /no time zone/],
    ['20240501T120000Z', /date YYYY-MM-DD/],
    ['May 1 2024', /date YYYY-MM-DD/],
    ['', /date YYYY-MM-DD/],
    ['2024-05-01X12:00:00Z', /followed by "T"/],
    ['2024-05-01T1:00:00Z', /hh:mm/],
  ];
  for (const [s, why] of cases) {
    assert.ok(Number.isNaN(parseIsoTimestamp(s)), s);
    assert.equal(parseTimestamp(s, 'auto'), NaN);
    assert.match(explainTimestamp(s, 'auto'), why, s);
  }
});

test('epoch: explicit units', () => {
  const s = T / 1000;
  assert.equal(epochToMs(s, 's'), T);
  assert.equal(epochToMs(s + 0.123, 's'), T + 123);
  assert.equal(epochToMs(1700000000.123, 's'), 1700000000123); // float noise does not lose a ms
  assert.equal(epochToMs(1700000000.1239, 's'), 1700000000123); // rounded down
  assert.equal(epochToMs(T, 'ms'), T);
  assert.equal(epochToMs(T + 0.9, 'ms'), T); // rounded down
  assert.equal(epochToMs(T * 1000 + 999, 'us'), T);
  // ns beyond 2^53 are only exact to ±128 ns: conversion goes through whole µs, then rounds down
  assert.equal(epochToMs(T * 1e6 + 999_000, 'ns'), T);
  assert.equal(epochToMs(1_700_000_000_123_000_000, 'ns'), 1_700_000_000_123); // not ...122
  // an explicit unit takes magnitudes auto would call ambiguous
  assert.equal(epochToMs(5e11, 's'), 5e14);
  assert.equal(epochToMs(5e11, 'ms'), 5e11);
  assert.ok(Number.isNaN(epochToMs(Infinity, 's')));
  assert.ok(Number.isNaN(epochToMs(NaN, 'ms')));
});

test('epoch: auto-detection by magnitude, including the boundaries', () => {
  const cases: [number, 's' | 'ms' | 'us' | 'ns' | null][] = [
    [-1, null],
    [-1.7e9, null],
    [0, null],
    [123456, null],
    [999_999_999, null],
    [1e9, 's'],
    [1.714e9, 's'],
    [99_999_999_999, 's'],
    [1e11, null],
    [5e11, null],
    [999_999_999_999, null],
    [1e12, 'ms'],
    [1.714e12, 'ms'],
    [99_999_999_999_999, 'ms'],
    [1e14, null],
    [999_999_999_999_999, null],
    [1e15, 'us'],
    [1.714e15, 'us'],
    [1e17 - 16, 'us'],
    [1e17, null],
    [9.99e17, null],
    [1e18, 'ns'],
    [1.714e18, 'ns'],
    [Infinity, null],
  ];
  for (const [v, unit] of cases) assert.equal(detectEpochUnit(v), unit, String(v));

  assert.equal(epochToMs(T / 1000, 'auto'), T);
  assert.equal(epochToMs(T, 'auto'), T);
  assert.equal(epochToMs(T * 1000 + 456, 'auto'), T);
  assert.equal(epochToMs(T * 1e6 + 456_789, 'auto'), T);
  assert.equal(epochToMs(1e9, 'auto'), 1e12);
  assert.equal(epochToMs(1e12, 'auto'), 1e12);
  assert.equal(epochToMs(1e15, 'auto'), 1e12);
  assert.equal(epochToMs(1e18, 'auto'), 1e12);
  for (const v of [-5, 0, 5e8, 5e11, 5e14, 5e17]) assert.ok(Number.isNaN(epochToMs(v, 'auto')), String(v));
  assert.match(explainTimestamp(5e11, 'auto'), /ambiguous magnitude.*epochUnit/);
  assert.match(explainTimestamp(3600, 'auto'), /uptime counter/);
  assert.match(explainTimestamp(-1, 'auto'), /negative/);
});

test('parseTimestamp dispatches by type; explain covers every refusal', () => {
  assert.equal(parseTimestamp('2024-05-01T12:00:00Z', 'auto'), T);
  assert.equal(parseTimestamp(T, 'auto'), T);
  for (const v of [null, true, {}, [], undefined]) assert.ok(Number.isNaN(parseTimestamp(v, 'auto')));
  assert.match(explainTimestamp(undefined, 'auto'), /no "ts"/);
  assert.match(explainTimestamp(null, 'auto'), /ts is null/);
  assert.match(explainTimestamp(true, 'auto'), /boolean/);
  assert.match(explainTimestamp([1], 'auto'), /an array/);
  assert.match(explainTimestamp('1714564800', 'auto'), /string of digits.*JSON numbers/);
});

test('formatMs never throws', () => {
  assert.equal(formatMs(T), '2024-05-01T12:00:00.000Z');
  assert.equal(formatMs(1e300), '1e+300 ms');
  assert.equal(formatMs(NaN), 'NaN ms');
});
