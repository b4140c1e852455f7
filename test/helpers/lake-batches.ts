/**
 * Batch builders for the lake tests and the lake benchmark: spool records and a realistic fleet
 * (random-walk temperature and humidity, one message per sensor per minute). Deterministic.
 */
import type { QuarantineItem, Reading, SinkBatch, SpoolRecord } from '../../src/core/types.js';
import { createRng } from '../../src/sim/prng.js';

export const DAY_MS = 86_400_000;

export function message(
  offset: number,
  opts: {
    readings?: Reading[];
    quarantined?: QuarantineItem[];
    receivedAt: number;
    source?: string;
    topic?: string;
    deviceId?: string | null;
    payload?: string;
  },
): SpoolRecord {
  const sensor = opts.readings?.[0]?.sensorId ?? 's-1';
  return {
    kind: 'message',
    offset,
    message: {
      source: opts.source ?? 'mqtt',
      topic: opts.topic ?? `sensors/${sensor}/telemetry`,
      deviceId: opts.deviceId === undefined ? 'dev-1' : opts.deviceId,
      receivedAt: opts.receivedAt,
      payload: Buffer.from(opts.payload ?? '{}'),
    },
    readings: opts.readings ?? [],
    quarantined: opts.quarantined ?? [],
  };
}

export function rejected(offset: number, receivedAt: number): SpoolRecord {
  return { kind: 'rejected', offset, source: 'mqtt', topic: null, deviceId: null, receivedAt, reason: 'not_authorized', detail: 'test' };
}

export function reading(sensorId: string, metric: string, ts: number, value: number, seq: number | null = null): Reading {
  return { sensorId, metric, ts, value, seq };
}

export function batchOf(records: SpoolRecord[]): SinkBatch {
  if (records.length === 0) throw new Error('a batch needs at least one record');
  return { fromOffset: records[0].offset, toOffset: records[records.length - 1].offset, records };
}

/** A seeded uniform [0, 1) generator (the simulator's PRNG). */
export function prng(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

export interface FleetOptions {
  sensors: number;
  /** First minute, epoch ms (aligned to a minute). */
  startMs: number;
  minutes: number;
  recordsPerBatch: number;
  /** First spool offset. */
  firstOffset?: number;
  seed?: number;
}

export function sensorName(i: number): string {
  return `sensor-${String(i).padStart(4, '0')}`;
}

/**
 * A fleet publishing `{temperature, humidity}` once a minute over MQTT, as spool batches of
 * `recordsPerBatch` messages (each message: 2 readings). Temperature is a random walk with 0.01 °C
 * resolution, humidity with 0.1 %; received_at trails ts by 50–800 ms; seq counts per sensor.
 */
export function* fleetBatches(o: FleetOptions): Generator<SinkBatch> {
  const rnd = prng(o.seed ?? 42);
  const temp = Array.from({ length: o.sensors }, () => 15 + rnd() * 10);
  const hum = Array.from({ length: o.sensors }, () => 35 + rnd() * 30);
  let offset = o.firstOffset ?? 1;
  let records: SpoolRecord[] = [];
  for (let minute = 0; minute < o.minutes; minute++) {
    const ts = o.startMs + minute * 60_000;
    for (let s = 0; s < o.sensors; s++) {
      temp[s] = Math.min(45, Math.max(-20, temp[s] + (rnd() - 0.5) * 0.2));
      hum[s] = Math.min(100, Math.max(0, hum[s] + (rnd() - 0.5) * 0.8));
      const id = sensorName(s);
      records.push(
        message(offset++, {
          receivedAt: ts + 50 + Math.floor(rnd() * 750),
          deviceId: `dev-${String(s).padStart(4, '0')}`,
          readings: [
            reading(id, 'temperature', ts, Math.round(temp[s] * 100) / 100, minute),
            reading(id, 'humidity', ts, Math.round(hum[s] * 10) / 10, minute),
          ],
        }),
      );
      if (records.length === o.recordsPerBatch) {
        yield batchOf(records);
        records = [];
      }
    }
  }
  if (records.length > 0) yield batchOf(records);
}
