import { telemetryTopic } from '../core/ids.js';
import type { QuarantineReason } from '../core/reasons.js';
import type { EpochMs } from '../core/types.js';
import { HUMIDITY_BOUNDS, TEMPERATURE_BOUNDS, isoTs, round2, sensorpipeJson, type SimMessage, type SimReading } from './fleet.js';
import { createRng, type Rng } from './prng.js';

/**
 * The kinds of invalid message the simulator sends. Each kind is also the quarantine reason every
 * item of such a message must get, so one ledger line has exactly one expected reason.
 * (`unknown_sensor` is missing on purpose: it depends on the registry policy, not on the message.)
 */
export const BAD_KINDS = [
  'invalid_json',
  'schema',
  'non_finite',
  'invalid_id',
  'bad_timestamp',
  'future_timestamp',
  'out_of_range',
  'identity_mismatch',
  'payload_too_large',
  'conflicting_duplicate',
] as const satisfies readonly QuarantineReason[];

export type BadKind = (typeof BAD_KINDS)[number];

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

export interface BadMessageContext {
  /** Picks the variant of a kind (e.g. `"yesterday"` or an ISO time without zone). */
  rng: Rng;
  /** Server-ish now, for future_timestamp (a day ahead of it). */
  now: EpochMs;
  /** payload_too_large is one byte over this. Default 262144. */
  maxPayloadBytes?: number;
  /** A valid id of a different sensor, for identity_mismatch. */
  otherSensorId: string;
  /**
   * For conflicting_duplicate: an earlier valid reading of the same sensor that the broker has
   * already acknowledged. The message re-sends its ts with different values.
   */
  original?: SimReading;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The invalid message of `kind` that sensor `slot.sensorId` sends in place of its valid reading `slot`.
 * The message keeps the slot's seq; its ts is the slot's (except for the timestamp kinds and
 * conflicting_duplicate, which re-uses the original's ts).
 */
export function badMessage(kind: BadKind, slot: SimReading, ctx: BadMessageContext): SimMessage {
  const { rng } = ctx;
  const ts = isoTs(slot.ts);
  const seq = slot.seq;
  const readings = slot.readings;
  let bodyTs: string = ts;
  let payload: string;
  switch (kind) {
    case 'invalid_json': {
      const whole = sensorpipeJson({ ts, seq, readings });
      // Any proper, non-empty prefix of a JSON object is not JSON.
      payload = whole.slice(0, rng.int(1, whole.length - 1));
      break;
    }
    case 'schema':
      payload = rng.next() < 0.5 ? sensorpipeJson({ ts, seq, readings: `temperature=${readings.temperature}` }) : sensorpipeJson({ ts, seq, readings: {} });
      break;
    case 'non_finite':
      payload = sensorpipeJson({ ts, seq, readings: { temperature: null, humidity: null } });
      break;
    case 'invalid_id':
      payload = sensorpipeJson({ ts, seq, readings: { 'air temperature': readings.temperature, 'humidity/relative': readings.humidity } });
      break;
    case 'bad_timestamp':
      bodyTs = rng.next() < 0.5 ? 'yesterday' : ts.replace(/Z$/, ''); // a word, or ISO-8601 without a zone
      payload = sensorpipeJson({ ts: bodyTs, seq, readings });
      break;
    case 'future_timestamp':
      bodyTs = isoTs(ctx.now + DAY_MS);
      payload = sensorpipeJson({ ts: bodyTs, seq, readings });
      break;
    case 'out_of_range':
      // Default limits: temperature -60..100 °C, humidity 0..100 %.
      payload = sensorpipeJson({ ts, seq, readings: { temperature: 150, humidity: 150 } });
      break;
    case 'identity_mismatch':
      if (ctx.otherSensorId === slot.sensorId) throw new Error('identity_mismatch needs the id of another sensor');
      payload = sensorpipeJson({ sensor_id: ctx.otherSensorId, ts, seq, readings });
      break;
    case 'payload_too_large': {
      // Valid JSON padded with whitespace: its size is the only thing wrong with it.
      const body = sensorpipeJson({ ts, seq, readings });
      const limit = ctx.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
      payload = body + ' '.repeat(Math.max(0, limit + 1 - Buffer.byteLength(body)));
      break;
    }
    case 'conflicting_duplicate': {
      const original = ctx.original;
      if (!original || original.sensorId !== slot.sensorId) throw new Error('conflicting_duplicate needs an earlier reading of the same sensor');
      bodyTs = isoTs(original.ts);
      payload = sensorpipeJson({ ts: bodyTs, seq, readings: conflictingValues(original.readings, rng) });
      break;
    }
  }
  return { sensorId: slot.sensorId, seq, ts: bodyTs, topic: telemetryTopic(slot.sensorId), payload: Buffer.from(payload), expected: kind };
}

/** Other plausible values: every metric moves by a visible amount, away from the nearer bound. */
function conflictingValues(r: SimReading['readings'], rng: Rng): SimReading['readings'] {
  const shift = (v: number, b: { min: number; max: number }, min: number, max: number) => {
    const d = round2(rng.range(min, max));
    return round2(v + d <= b.max ? v + d : v - d);
  };
  return { temperature: shift(r.temperature, TEMPERATURE_BOUNDS, 0.5, 3), humidity: shift(r.humidity, HUMIDITY_BOUNDS, 1, 5) };
}

export interface PlanOptions {
  count: number;
  sensors: number;
  /** Share of bad messages, 0..1. */
  badRatio: number;
  seed: number | string;
}

/**
 * Which messages are bad and of which kind. Message i is sent by sensor `i % sensors`.
 * `round(count * badRatio)` messages are bad, one in each of that many equal strides of the run, at
 * a seeded position inside its stride; kinds cycle through a seeded order of BAD_KINDS, so their
 * counts differ by at most one. A conflicting_duplicate is only planned where its sensor has
 * already sent a valid message (it swaps places with a later bad message otherwise).
 */
export function planBadKinds(opts: PlanOptions): (BadKind | null)[] {
  const { count, sensors, badRatio } = opts;
  if (!(badRatio >= 0 && badRatio <= 1)) throw new Error(`badRatio must be within 0..1, got ${badRatio}`);
  const plan: (BadKind | null)[] = new Array(count).fill(null);
  const bad = Math.round(count * badRatio);
  if (bad === 0) return plan;
  const rng = createRng(`${opts.seed}/plan`);
  const order = rng.shuffled(BAD_KINDS);
  for (let j = 0; j < bad; j++) {
    const from = Math.floor((j * count) / bad);
    const to = Math.floor(((j + 1) * count) / bad); // > from, as bad <= count
    plan[from + Math.floor(rng.next() * (to - from))] = order[j % order.length];
  }

  const hasValid = new Array<boolean>(sensors).fill(false);
  for (let i = 0; i < count; i++) {
    const sensor = i % sensors;
    if (plan[i] === null) hasValid[sensor] = true;
    else if (plan[i] === 'conflicting_duplicate' && !hasValid[sensor]) {
      let k = i + 1;
      while (k < count && (plan[k] === null || plan[k] === 'conflicting_duplicate')) k++;
      // No later kind to swap with (or no valid message at all): send another kind instead.
      plan[i] = k < count ? plan[k] : order.find((kind) => kind !== 'conflicting_duplicate')!;
      if (k < count) plan[k] = 'conflicting_duplicate';
    }
  }
  return plan;
}
