/**
 * The bench workload: N sensors, message i from sensor i % N with seq floor(i / N) + 1, about
 * 130 bytes of Sensorpipe JSON with four readings, values from a seeded generator, ts = the
 * publish time (so two messages of one sensor never share a ts at the rates measured here).
 */
import { createRng, type Rng } from '../../src/sim/prng.js';

export const READINGS_PER_MESSAGE = 4;

export function sensorId(index: number, sensors: number): string {
  return `b-${String(index + 1).padStart(Math.max(5, String(sensors).length), '0')}`;
}

export class Workload {
  readonly ids: string[];
  readonly topics: string[];
  private readonly rng: Rng;

  constructor(readonly sensors: number, seed: string) {
    this.ids = Array.from({ length: sensors }, (_, i) => sensorId(i, sensors));
    this.topics = this.ids.map((id) => `sensors/${id}/telemetry`);
    this.rng = createRng(seed);
  }

  seqOf(i: number): number {
    return Math.floor(i / this.sensors) + 1;
  }

  private readings(): string {
    const r = this.rng.next();
    const t = (18 + r * 6).toFixed(2);
    const h = (40 + r * 20).toFixed(2);
    const p = (1000 + r * 30).toFixed(2);
    const b = (3.5 + r * 0.6).toFixed(2);
    return `{"temperature":${t},"humidity":${h},"pressure":${p},"battery":${b}}`;
  }

  /** The MQTT payload of message i (the topic names the sensor). */
  mqttPayload(i: number, nowMs: number): string {
    return `{"ts":"${new Date(nowMs).toISOString()}","seq":${this.seqOf(i)},"readings":${this.readings()}}`;
  }

  /** One NDJSON line of message i for HTTP ingest (the record names the sensor). */
  ndjsonLine(i: number, nowMs: number): string {
    return `{"sensor_id":"${this.ids[i % this.sensors]}","ts":"${new Date(nowMs).toISOString()}","seq":${this.seqOf(i)},"readings":${this.readings()}}`;
  }
}
