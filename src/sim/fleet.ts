import { isValidId, telemetryTopic } from '../core/ids.js';
import type { QuarantineReason } from '../core/reasons.js';
import type { EpochMs } from '../core/types.js';
import { createRng, type Rng } from './prng.js';

/** Bounds of the simulated values: the random walks never leave them. */
export const TEMPERATURE_BOUNDS = { min: -10, max: 45 } as const;
export const HUMIDITY_BOUNDS = { min: 0, max: 100 } as const;

export interface FleetOptions {
  sensors: number;
  /** Sensor ids are `${prefix}0001`, `${prefix}0002`, … Default `sim-`. */
  sensorPrefix?: string;
  seed: number | string;
  /** Timestamp of each sensor's first reading. */
  startTs: EpochMs;
  /** Time between two readings of one sensor. Default 1000 ms. */
  stepMs?: number;
}

/** One valid reading set of one sensor: what a well-behaved device publishes. */
export interface SimReading {
  sensorId: string;
  /** Per sensor, from 1. */
  seq: number;
  ts: EpochMs;
  readings: { temperature: number; humidity: number };
}

/** What the pipeline should do with a message: accept it, or quarantine every item with this reason. */
export type Expected = 'accepted' | QuarantineReason;

/** One message ready to publish, with what the pipeline is expected to make of it. */
export interface SimMessage {
  sensorId: string;
  seq: number;
  /** The timestamp the message was built with, as written in the payload (for invalid_json: before truncation). */
  ts: string | null;
  topic: string;
  payload: Buffer;
  expected: Expected;
  /** The readings as sent, for valid messages. */
  readings?: Record<string, number>;
}

interface SensorState {
  id: string;
  rng: Rng;
  seq: number;
  temperature: number;
  temperatureMean: number;
  humidity: number;
  humidityMean: number;
}

/** The id of sensor `index` (0-based): `sim-0001` for index 0; more digits when the fleet needs them. */
export function simSensorId(prefix: string, index: number, fleetSize: number): string {
  const width = Math.max(4, String(fleetSize).length);
  return `${prefix}${String(index + 1).padStart(width, '0')}`;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}

/**
 * A deterministic fleet: per sensor a mean-reverting random walk of temperature (starts 18–24 °C)
 * and relative humidity (starts 30–70 %). Each sensor has its own generator derived from the seed
 * and its id, so its readings do not depend on how calls for different sensors interleave.
 */
export class Fleet {
  readonly sensorIds: string[];
  readonly stepMs: number;
  private readonly states: SensorState[];

  constructor(private readonly opts: FleetOptions) {
    if (!Number.isInteger(opts.sensors) || opts.sensors < 1) throw new Error(`sensors must be a positive integer, got ${opts.sensors}`);
    this.stepMs = opts.stepMs ?? 1000;
    if (!(this.stepMs > 0)) throw new Error(`stepMs must be positive, got ${opts.stepMs}`);
    const prefix = opts.sensorPrefix ?? 'sim-';
    this.states = Array.from({ length: opts.sensors }, (_, i) => {
      const id = simSensorId(prefix, i, opts.sensors);
      if (!isValidId(id)) throw new Error(`sensor prefix ${JSON.stringify(prefix)} makes an invalid sensor id ${JSON.stringify(id)}`);
      const rng = createRng(`${opts.seed}/${id}`);
      const temperature = rng.range(18, 24);
      const humidity = rng.range(30, 70);
      return { id, rng, seq: 0, temperature, temperatureMean: temperature, humidity, humidityMean: humidity };
    });
    this.sensorIds = this.states.map((s) => s.id);
  }

  get size(): number {
    return this.states.length;
  }

  /** The topic sensor `index` (0-based) publishes to. */
  topic(index: number): string {
    return telemetryTopic(this.states[index].id);
  }

  /** Advances sensor `index` (0-based) by one step and returns its next reading. */
  next(index: number): SimReading {
    const s = this.states[index];
    if (!s) throw new Error(`no sensor ${index} in a fleet of ${this.states.length}`);
    s.seq += 1;
    // Ornstein-Uhlenbeck-like steps: a pull back to the sensor's mean plus small noise.
    s.temperature = clamp(s.temperature + 0.02 * (s.temperatureMean - s.temperature) + 0.1 * s.rng.normal(), TEMPERATURE_BOUNDS.min, TEMPERATURE_BOUNDS.max);
    s.humidity = clamp(s.humidity + 0.02 * (s.humidityMean - s.humidity) + 0.3 * s.rng.normal(), HUMIDITY_BOUNDS.min, HUMIDITY_BOUNDS.max);
    return {
      sensorId: s.id,
      seq: s.seq,
      ts: this.opts.startTs + (s.seq - 1) * this.stepMs,
      readings: { temperature: round2(s.temperature), humidity: round2(s.humidity) },
    };
  }
}

/** A Sensorpipe JSON payload. `sensor_id` is only written when given (devices normally leave it out). */
export function sensorpipeJson(m: { sensor_id?: string; ts: string | number; seq: number; readings: unknown }): string {
  const body: Record<string, unknown> = {};
  if (m.sensor_id !== undefined) body.sensor_id = m.sensor_id;
  body.ts = m.ts;
  body.seq = m.seq;
  body.readings = m.readings;
  return JSON.stringify(body);
}

export function isoTs(ts: EpochMs): string {
  return new Date(ts).toISOString();
}

/** The message a well-behaved device publishes for `r`. */
export function validMessage(r: SimReading): SimMessage {
  const ts = isoTs(r.ts);
  return {
    sensorId: r.sensorId,
    seq: r.seq,
    ts,
    topic: telemetryTopic(r.sensorId),
    payload: Buffer.from(sensorpipeJson({ ts, seq: r.seq, readings: r.readings })),
    expected: 'accepted',
    readings: { ...r.readings },
  };
}
