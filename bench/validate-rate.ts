/**
 * Validation throughput on one core: `node --import tsx bench/validate-rate.ts [seconds]`.
 * Measures validateMessage for a typical ~130-byte Sensorpipe JSON message (3 readings) and a
 * few variants, and prints messages/s and readings/s per case.
 */
import { validateMessage, type MessageScope, type ValidateContext } from '../src/pipeline/validate.js';
import { MemoryRegistry } from '../src/core/registry.js';
import type { Message } from '../src/core/types.js';

const seconds = Number(process.argv[2] ?? 2);
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

const ctx: ValidateContext = {
  registry: new MemoryRegistry('auto', [
    {
      sensorId: 'greenhouse-01',
      location: 'greenhouse',
      type: 'climate',
      expectedIntervalS: 10,
      metrics: {
        temperature: { unit: '°C', min: -40, max: 85 },
        humidity: { unit: '%', min: 0, max: 100 },
        co2: { unit: 'ppm', min: 0, max: 10000 },
      },
    },
  ]),
  config: {
    maxPayloadBytes: 256 * 1024,
    maxFutureSkewS: 300,
    minTimestamp: '2000-01-01T00:00:00Z',
    unknownSensorPolicy: 'auto',
    epochUnit: 'auto',
  },
  metricDefaults: { temperature: { unit: '°C', min: -60, max: 100 }, humidity: { unit: '%', min: 0, max: 100 } },
  clock: { now: () => NOW },
};
const scope: MessageScope = { topicSensorId: 'greenhouse-01' };

function message(text: string): Message {
  return { source: 'mqtt', topic: 'sensors/greenhouse-01/telemetry', deviceId: 'dev-1', receivedAt: NOW, payload: Buffer.from(text) };
}

// Many distinct payloads so that nothing is cached by accident; same size class.
function typical(i: number): string {
  const s = String(i % 60).padStart(2, '0');
  return (
    `{"sensor_id":"greenhouse-01","ts":"2024-05-01T11:59:${s}.123Z","seq":${100000 + i},` +
    `"readings":{"temperature":${(20 + (i % 50) / 10).toFixed(1)},"humidity":${40 + (i % 20)}.5,"co2":${400 + (i % 90)}}}`
  );
}
function flatEpoch(i: number): string {
  return `{"ts":${NOW - 60000 + (i % 1000)},"seq":${i},"temperature":${(20 + (i % 50) / 10).toFixed(1)},"humidity":45.5}`;
}
function array10(i: number): string {
  const recs = [];
  for (let k = 0; k < 10; k++) recs.push(`{"ts":${(NOW - 60000) / 1000 + k},"seq":${i * 10 + k},"temperature":21.${k}}`);
  return `[${recs.join(',')}]`;
}
function badTs(i: number): string {
  return `{"ts":"2024-05-01T11:59:00","seq":${i},"temperature":21.4,"humidity":45.5}`;
}

function bench(name: string, make: (i: number) => string): void {
  const msgs = Array.from({ length: 4096 }, (_, i) => message(make(i)));
  const bytes = msgs.reduce((a, m) => a + m.payload.length, 0) / msgs.length;
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += validateMessage(msgs[i & 4095], scope, ctx).readings.length; // warm-up
  let n = 0;
  let readings = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let k = 0; k < 10_000; k++) {
      const v = validateMessage(msgs[n & 4095], scope, ctx);
      readings += v.readings.length + v.quarantined.length;
      n++;
    }
    now = process.hrtime.bigint();
  }
  const s = Number(now - start) / 1e9;
  const rate = n / s;
  console.log(
    `${name.padEnd(34)} ${Math.round(bytes)} B/msg  ${Math.round(rate).toLocaleString('en-US').padStart(11)} msg/s  ` +
      `${Math.round(readings / s).toLocaleString('en-US').padStart(11)} items/s  ${(1e9 / rate).toFixed(0)} ns/msg` +
      (sink < 0 ? '!' : ''),
  );
}

console.log(`validateMessage on one core, node ${process.version}, ${seconds} s per case`);
bench('typical (nested, ISO ts, 3 metrics)', typical);
bench('flat, epoch ms, 2 metrics', flatEpoch);
bench('array of 10 records (epoch s)', array10);
bench('quarantined (ISO without zone)', badTs);
