import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, ErrorWithReasonCode, type IClientOptions, type MqttClient } from 'mqtt';
import { systemClock, silentLogger, type Clock, type EpochMs, type Logger } from '../core/types.js';
import { badMessage, planBadKinds } from './bad-messages.js';
import { Fleet, simSensorId, validMessage, type Expected, type SimMessage, type SimReading } from './fleet.js';
import { createRng } from './prng.js';

export interface SimulateOptions {
  /** Broker URL, e.g. `mqtt://localhost:1883`. */
  url: string;
  /** Number of simulated sensors; each is its own MQTT client. */
  sensors: number;
  /** Total messages across the fleet; message i is sent by sensor i % sensors. */
  count: number;
  /** Messages per second across the fleet; 0 (default) = as fast as `maxInflight` allows. */
  rate?: number;
  /** Share of invalid messages, 0..1 (default 0); kinds spread evenly and deterministically by the seed. */
  badRatio?: number;
  /** MQTT username; default: each client's own sensor id. */
  username?: string;
  /** Shared device secret for the run. */
  password?: string;
  /** Anonymous devices (a broker in demo mode): no username, no password. */
  demo?: boolean;
  /** Default `sim-`: sensors are sim-0001, sim-0002, … */
  sensorPrefix?: string;
  /** Same seed, same readings and same bad messages. Default `sensorpipe`. */
  seed?: number | string;
  /** The broker's payload limit, for payload_too_large messages. Default 262144. */
  maxPayloadBytes?: number;
  /** Path of the ledger (JSON lines, one per acknowledged message); truncated at start. */
  ledger?: string;
  /**
   * Timestamp of each sensor's first reading. Default: now, moved back when needed so that the last
   * reading is not later than the run's expected end (count/rate), so valid readings are never in the future.
   */
  startTs?: EpochMs;
  /** Time between two readings of one sensor. Default 1000 ms. */
  stepMs?: number;
  /** Bound on unacknowledged messages across the fleet. Default 256. */
  maxInflight?: number;
  /** Time allowed for each client's CONNACK. Default 10000 ms. */
  connectTimeoutMs?: number;
  /**
   * A message without PUBACK after this long counts as failed. Default 30000 ms. After the first
   * failed message no new message is published (the broker or the connection is gone); the run
   * ends once the messages in flight are settled, with `stopReason` saying why.
   */
  ackTimeoutMs?: number;
}

export interface SimulateProgress {
  sent: number;
  acked: number;
  failed: number;
}

export interface SimulateDeps {
  /** For the reading timestamps (default start, future_timestamp); pacing uses the real monotonic clock. */
  clock?: Clock;
  logger?: Logger;
  /** Called at most every 200 ms while messages complete, and once at the end. */
  onProgress?: (p: SimulateProgress) => void;
}

export interface SimulateReport extends SimulateProgress {
  url: string;
  sensors: number;
  /** Conflicting duplicates not sent because their original was not acknowledged. */
  skipped: number;
  /** Why publishing stopped before `count` (the first failed message), or null. */
  stopReason: string | null;
  /** Acknowledged messages by what the pipeline should make of them (the ledger's `expected`). */
  byExpected: Partial<Record<Expected, number>>;
  /** From the last client connected to the last acknowledgement (connecting is not counted). */
  durationMs: number;
  /** Acknowledged messages per second over durationMs. */
  rate: number;
  ledger: string | null;
}

/** One line of the ledger. */
export interface LedgerLine {
  sensor: string;
  seq: number;
  ts: string | null;
  topic: string;
  expected: Expected;
  readings?: Record<string, number>;
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`simulate: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/**
 * Runs a fleet of simulated sensors against an MQTT broker: QoS 1, one client per sensor.
 * Resolves when every message is acknowledged or failed and the ledger is closed; rejects when a
 * client cannot connect (with the broker URL and the reason) or the ledger cannot be written.
 */
export async function simulate(opts: SimulateOptions, deps: SimulateDeps = {}): Promise<SimulateReport> {
  if (!URL.canParse(opts.url)) throw new Error(`simulate: ${JSON.stringify(opts.url)} is not a broker URL (expected e.g. mqtt://localhost:1883)`);
  const clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? silentLogger).child({ component: 'simulate' });
  const count = positiveInt('count', opts.count, 0);
  const sensors = positiveInt('sensors', opts.sensors, 1);
  const maxInflight = positiveInt('maxInflight', opts.maxInflight ?? 256, 1);
  const rate = opts.rate ?? 0;
  if (!(rate >= 0)) throw new Error(`simulate: rate must be >= 0, got ${opts.rate}`);
  const seed = opts.seed ?? 'sensorpipe';
  const stepMs = opts.stepMs ?? 1000;
  const prefix = opts.sensorPrefix ?? 'sim-';
  const plan = planBadKinds({ count, sensors, badRatio: opts.badRatio ?? 0, seed });
  const expectedRunMs = rate > 0 ? (count / rate) * 1000 : 0;
  const spanMs = (Math.ceil(count / sensors) - 1) * stepMs;
  const startTs = opts.startTs ?? clock.now() + Math.min(0, Math.round(expectedRunMs - spanMs));
  const fleet = new Fleet({ sensors, sensorPrefix: prefix, seed, startTs, stepMs });

  const ledger = opts.ledger ? await openLedger(opts.ledger) : null;
  let clients: MqttClient[] = [];
  let started = 0;
  let durationMs = 0;
  const progress: SimulateProgress = { sent: 0, acked: 0, failed: 0 };
  const byExpected: Partial<Record<Expected, number>> = {};
  let skipped = 0;
  let stopReason: string | null = null;
  try {
    logger.info({ url: opts.url, sensors, count, rate, badRatio: opts.badRatio ?? 0 }, 'connecting simulated sensors');
    clients = await connectFleet(opts, fleet.sensorIds, opts.connectTimeoutMs ?? 10_000, logger);
    started = performance.now();

    let inflight = 0;
    let wake: (() => void) | null = null;
    let lastProgressAt = 0;
    const report = () => {
      const t = performance.now();
      if (deps.onProgress && t - lastProgressAt >= 200) {
        lastProgressAt = t;
        deps.onProgress({ ...progress });
      }
    };
    const lastValid: { reading: SimReading; acked: Promise<string | null> }[] = [];
    const badRng = createRng(`${seed}/bad`);
    const ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;

    for (let i = 0; i < count && stopReason === null; i++) {
      if (rate > 0) {
        const wait = started + (i * 1000) / rate - performance.now();
        if (wait > 1) await sleep(wait);
      }
      while (inflight >= maxInflight) await new Promise<void>((r) => (wake = r));
      if (stopReason !== null) break;
      const s = i % sensors;
      const slot = fleet.next(s);
      const kind = plan[i];
      let msg: SimMessage;
      if (kind === null) {
        msg = validMessage(slot);
      } else {
        const original = kind === 'conflicting_duplicate' ? lastValid[s] : undefined;
        // A conflict must follow the original's PUBACK; without one there is nothing to conflict with.
        if (original && (await original.acked) !== null) {
          skipped++;
          continue;
        }
        const other = simSensorId(prefix, (s + 1) % Math.max(sensors, 2), sensors);
        msg = badMessage(kind, slot, { rng: badRng, now: clock.now(), maxPayloadBytes: opts.maxPayloadBytes, otherSensorId: other, original: original?.reading });
      }
      progress.sent++;
      inflight++;
      const acked = publishQos1(clients[s], msg, ackTimeoutMs).then((failure) => {
        inflight--;
        if (failure === null) {
          progress.acked++;
          byExpected[msg.expected] = (byExpected[msg.expected] ?? 0) + 1;
          ledger?.write(ledgerLine(msg));
        } else {
          progress.failed++;
          if (stopReason === null) {
            stopReason = `${msg.sensorId} seq ${msg.seq}: ${failure}`;
            logger.error({ url: opts.url, reason: stopReason }, 'a message was not acknowledged; publishing stops');
          }
        }
        report();
        wake?.();
        return failure;
      });
      if (kind === null) lastValid[s] = { reading: slot, acked };
    }
    while (inflight > 0) await new Promise<void>((r) => (wake = r));
    durationMs = Math.round(performance.now() - started);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    if (ledger) await ledger.close();
  }
  deps.onProgress?.({ ...progress });
  const result: SimulateReport = {
    url: opts.url,
    sensors,
    ...progress,
    skipped,
    stopReason,
    byExpected,
    durationMs,
    rate: durationMs > 0 ? Math.round((progress.acked * 1000) / durationMs) : progress.acked,
    ledger: opts.ledger ?? null,
  };
  logger.info(result, 'simulation finished');
  return result;
}

function ledgerLine(m: SimMessage): string {
  const line: LedgerLine = { sensor: m.sensorId, seq: m.seq, ts: m.ts, topic: m.topic, expected: m.expected };
  if (m.readings) line.readings = m.readings;
  return JSON.stringify(line) + '\n';
}

/** Publishes with QoS 1; resolves null on PUBACK, else why not (an error, or no PUBACK within the timeout). */
function publishQos1(client: MqttClient, m: SimMessage, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (failure: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(failure);
    };
    const timer = setTimeout(() => finish(`no PUBACK within ${timeoutMs} ms`), timeoutMs);
    client.publish(m.topic, m.payload, { qos: 1 }, (err) => finish(err ? err.message : null));
  });
}

function describeConnectError(err: Error): string {
  return err instanceof ErrorWithReasonCode ? `${err.message} (CONNACK code ${err.code})` : err.message;
}

/** Connects one client per sensor (a few at a time). On the first failure, ends every client and rejects. */
async function connectFleet(opts: SimulateOptions, ids: string[], timeoutMs: number, logger: Logger): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  let failure: Error | null = null;
  let nextIndex = 0;
  const worker = async () => {
    while (!failure && nextIndex < ids.length) {
      const id = ids[nextIndex++];
      const options: IClientOptions = {
        clientId: id,
        protocolVersion: 4,
        clean: true,
        keepalive: 30,
        reconnectPeriod: 1000,
        connectTimeout: timeoutMs * 2, // our own timer (waitConnected) fires first and says more
        ...(opts.demo ? {} : { username: opts.username ?? id, password: opts.password }),
      };
      const client = connect(opts.url, options);
      clients.push(client);
      client.on('error', (err) => logger.warn({ sensor: id, err: err.message }, 'mqtt client error'));
      client.on('offline', () => logger.warn({ sensor: id }, 'mqtt client offline; reconnecting'));
      try {
        await waitConnected(client, timeoutMs);
      } catch (err) {
        if (failure) break; // ended because another client failed first
        failure = new Error(`simulate: cannot connect to ${opts.url} as ${id}: ${describeConnectError(err as Error)}`);
        for (const c of clients) c.end(true); // stop the other attempts now, not at their timeout
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, ids.length) }, worker));
  if (failure) {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    throw failure;
  }
  return clients;
}

function waitConnected(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onConnect = () => settle();
    const onError = (err: Error) => settle(err);
    const timer = setTimeout(() => settle(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    const onEnd = () => settle(new Error('connection attempt abandoned'));
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('end', onEnd);
  });
}

interface LedgerFile {
  write(line: string): void;
  /** Flushes (fsync) and closes; rejects when any write failed. */
  close(): Promise<void>;
}

async function openLedger(path: string): Promise<LedgerFile> {
  const stream = createWriteStream(path, { flags: 'w', flush: true });
  let failure: Error | null = null;
  try {
    await once(stream, 'open');
  } catch (err) {
    throw new Error(`simulate: cannot open the ledger ${path}: ${(err as Error).message}`);
  }
  stream.on('error', (err) => (failure ??= err));
  return {
    write: (line) => {
      if (!failure) stream.write(line);
    },
    close: async () => {
      if (!stream.destroyed) {
        stream.end();
        await once(stream, 'close');
      }
      if (failure) throw new Error(`simulate: writing the ledger ${path} failed: ${(failure as Error).message}`);
    },
  };
}
