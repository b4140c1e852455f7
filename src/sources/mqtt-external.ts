import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Clock, Logger } from '../core/types.js';
import { SpoolFullError } from '../core/types.js';
import type { Ingestor } from '../pipeline/ingestor.js';
import type { MqttExternalConfig } from './mqtt-external-config.js';

/** The `source` label of messages taken from an external broker (accounting, metrics, lake). */
export const EXTERNAL_SOURCE = 'mqtt-external';

/** Splits a topic template such as `sensors/{sensor_id}/telemetry` into its filter and the sensor level. */
export function topicPattern(template: string): { filter: string; sensorLevel: number; levels: string[] } {
  const levels = template.split('/');
  const sensorLevel = levels.indexOf('{sensor_id}');
  return { filter: levels.map((l) => (l === '{sensor_id}' ? '+' : l)).join('/'), sensorLevel, levels };
}

/** The sensor level of `topic` when it matches the template, else null. */
export function sensorLevelOf(pattern: ReturnType<typeof topicPattern>, topic: string): string | null {
  const parts = topic.split('/');
  if (parts.length !== pattern.levels.length) return null;
  for (let i = 0; i < parts.length; i++) if (i !== pattern.sensorLevel && parts[i] !== pattern.levels[i]) return null;
  return parts[pattern.sensorLevel];
}

const MAX_RETRY_MS = 10_000;

/**
 * Subscribes to an external MQTT broker and feeds the Ingestor. The delivery contract holds
 * without our own broker: MQTT.js sends the PUBACK of a QoS 1 message only when `handleMessage`
 * calls back, and we call back only after the spool's durable append. While the spool is full the
 * message is retried (the broker's in-flight window fills and it queues for us: backpressure);
 * on shutdown an unfinished message is left unacknowledged, and the persistent session (fixed
 * client id, clean=false) makes the broker deliver it again when we reconnect.
 *
 * A message on a topic whose sensor level is not a valid id is stored and quarantined
 * (`invalid_id`), never dropped: it was delivered, so it is acknowledged and accounted for.
 */
export class ExternalMqttSource {
  private closing = false;
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(
    private readonly clients: MqttClient[],
    private readonly log: Logger,
    readonly filter: string,
  ) {}

  static async start(cfg: MqttExternalConfig, deps: { ingestor: Ingestor; logger: Logger; clock: Clock }): Promise<ExternalMqttSource> {
    const log = deps.logger.child({ component: 'mqtt-external' });
    const pattern = topicPattern(cfg.topicTemplate);
    const filter = cfg.sharedGroup ? `$share/${cfg.sharedGroup}/${pattern.filter}` : pattern.filter;
    const clients: MqttClient[] = [];
    const source = new ExternalMqttSource(clients, log, filter);
    try {
      for (let i = 0; i < cfg.connections; i++) {
        const clientId = cfg.connections === 1 ? cfg.clientId : `${cfg.clientId}-${i}`;
        clients.push(await source.connect(cfg, clientId, pattern, deps));
      }
    } catch (err) {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      throw err;
    }
    log.info({ url: cfg.url, filter, connections: cfg.connections }, `subscribed to ${filter} on ${cfg.url} with ${cfg.connections} connection(s)`);
    return source;
  }

  private async connect(
    cfg: MqttExternalConfig,
    clientId: string,
    pattern: ReturnType<typeof topicPattern>,
    deps: { ingestor: Ingestor; logger: Logger; clock: Clock },
  ): Promise<MqttClient> {
    const opts: IClientOptions = {
      clientId,
      clean: false,
      protocolVersion: cfg.protocolVersion,
      keepalive: cfg.keepaliveS,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      username: cfg.username,
      password: cfg.password,
      // Never acknowledge on arrival: handleMessage below decides when the PUBACK goes out.
      manualConnect: true,
      resubscribe: false,
      ...(cfg.protocolVersion === 5 ? { properties: { sessionExpiryInterval: cfg.sessionExpiryS } } : {}),
      ...(cfg.tls.caFile ? { ca: readFileSync(cfg.tls.caFile) } : {}),
      ...(cfg.tls.certFile && cfg.tls.keyFile ? { cert: readFileSync(cfg.tls.certFile), key: readFileSync(cfg.tls.keyFile) } : {}),
      rejectUnauthorized: cfg.tls.rejectUnauthorized,
    };
    const client = mqtt.connect(cfg.url, opts);
    client.handleMessage = (packet, callback) => {
      const work = this.store(packet, clientId, pattern, cfg.retryMs, deps);
      this.inflight.add(work);
      work.then(
        () => callback(),
        (err: Error) => callback(err),
      ).finally(() => this.inflight.delete(work));
    };
    client.on('error', (err) => log(this.log, clientId, cfg.url, err));
    client.on('offline', () => this.log.warn({ clientId, url: cfg.url }, `lost the connection to ${cfg.url}; reconnecting every second`));
    client.on('reconnect', () => this.log.debug({ clientId }, 'reconnecting'));

    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        client.off('connect', onConnect);
        client.end(true);
        reject(new Error(`could not connect to the MQTT broker at ${cfg.url} as "${clientId}": ${err.message}. Check mqttExternal.url, credentials and TLS settings.`));
      };
      client.once('connect', onConnect);
      client.once('error', onError);
      client.connect();
    });
    // Subscribing again on every (re)connect is harmless and covers brokers that lost the session.
    const subscribe = () =>
      client.subscribeAsync(this.filter, { qos: 1 }).then(
        (granted) => {
          if (granted.some((g) => g.qos === 128)) this.log.error({ clientId, filter: this.filter }, `the broker refused the subscription to ${this.filter}: check the user's ACL on the broker`);
        },
        (err: Error) => this.log.error({ err, clientId }, `could not subscribe to ${this.filter}`),
      );
    await subscribe();
    // Subscribe afresh on every reconnect, even into a restored session: Mosquitto 2.0 restores a
    // persisted session without its shared subscriptions after a broker restart
    // (test/e2e/outages.test.ts). `resubscribe: false` above keeps MQTT.js from deciding that the
    // filter is subscribed already and sending nothing.
    client.on('connect', () => void subscribe());
    return client;
  }

  private async store(
    packet: IPublishPacket,
    clientId: string,
    pattern: ReturnType<typeof topicPattern>,
    retryMs: number,
    deps: { ingestor: Ingestor; clock: Clock },
  ): Promise<void> {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const topicSensorId = sensorLevelOf(pattern, packet.topic);
    const message = { source: EXTERNAL_SOURCE, topic: packet.topic, deviceId: null, receivedAt: deps.clock.now(), payload };
    let wait = retryMs;
    for (;;) {
      if (this.closing) throw new Error('shutting down: the message stays unacknowledged and the broker delivers it again');
      try {
        // A topic outside the template cannot arrive through our filter; a sensor level outside
        // the id alphabet can, and validation quarantines it as invalid_id.
        await deps.ingestor.ingest(message, { topicSensorId: topicSensorId ?? packet.topic });
        return;
      } catch (err) {
        if (!(err instanceof SpoolFullError)) {
          this.log.error({ err, clientId, topic: packet.topic }, 'could not store a message durably; not acknowledging it (retrying)');
        } else if (wait === retryMs) {
          this.log.warn({ clientId }, `${err.message}; holding back acknowledgements`);
        }
        await new Promise((r) => setTimeout(r, wait).unref());
        wait = Math.min(wait * 2, MAX_RETRY_MS);
      }
    }
  }

  /** Connections currently up (for status and readiness). */
  get connected(): number {
    return this.clients.filter((c) => c.connected).length;
  }

  get connections(): number {
    return this.clients.length;
  }

  /** Stops taking messages; what is not stored yet stays unacknowledged at the broker. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.inflight]);
    await Promise.all(this.clients.map((c) => c.endAsync(false).catch(() => c.endAsync(true))));
  }
}

function log(logger: Logger, clientId: string, url: string, err: Error): void {
  logger.warn({ clientId, url, err: err.message }, `MQTT connection problem with ${url}: ${err.message}`);
}
