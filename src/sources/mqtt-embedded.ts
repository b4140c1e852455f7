import { Aedes, type Client } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Clock, Logger } from '../core/types.js';
import { SpoolFullError } from '../core/types.js';
import { isValidId, sensorFromTopic } from '../core/ids.js';
import type { RejectReason } from '../core/reasons.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { Ingestor } from '../pipeline/ingestor.js';
import { listen } from './listen.js';
import { guardedConnection } from './mqtt-packet-guard.js';

export interface EmbeddedMqttOptions {
  host: string;
  port: number;
  /** Anonymous devices may connect and publish for any sensor. Insecure: for demos only. */
  demo: boolean;
  /** A packet declaring a larger remaining length closes the connection before its body is read (mqtt.maxPacketBytes). */
  maxPacketBytes?: number;
  /** A connection that has not completed CONNECT within this time is closed (mqtt.connectTimeoutMs). */
  connectTimeoutMs?: number;
  /** MQTT over TLS (mqtts) with the user's certificate and key (PEM); plain TCP when absent. */
  tls?: { cert: Buffer; key: Buffer };
}

export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface Identity {
  deviceId: string | null;
  sensors: Set<string> | null; // null = any sensor (anonymous demo device)
}

const IDENTITY = Symbol('sensorpipe.identity');
type IdentifiedClient = Client & { [IDENTITY]?: Identity };

/** Errors Aedes' PUBLISH handler raises for a topic it will not route (wildcards, empty, too deep). */
const TOPIC_REFUSED_BY_AEDES = /^(# is not allowed in PUBLISH|\+ is not allowed in PUBLISH|empty topic not allowed in PUBLISH|topic has too many levels)$/;

const CONNACK = { IDENTIFIER_REJECTED: 2, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

function authError(message: string, returnCode: number) {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * The embedded MQTT broker (Aedes). The durable write happens inside `authorizePublish`:
 * Aedes sends PUBACK only after that callback, so a device's QoS 1 message is acknowledged
 * only once it is in the spool.
 */
export class EmbeddedMqttSource {
  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
    public readonly port: number,
  ) {}

  static async start(
    opts: EmbeddedMqttOptions,
    deps: { auth: AuthStore; ingestor: Ingestor; logger: Logger; clock: Clock },
  ): Promise<EmbeddedMqttSource> {
    const log = deps.logger.child({ component: 'mqtt' });
    const reject = (client: Client | null, reason: RejectReason, detail: string, topic: string | null = null) => {
      const deviceId = (client as IdentifiedClient | null)?.[IDENTITY]?.deviceId ?? null;
      log.warn({ clientId: client?.id, deviceId, topic, reason }, `refused: ${detail}`);
      void deps.ingestor.reject({ source: 'mqtt', topic, deviceId, reason, detail });
    };

    const broker = await Aedes.createBroker({
      // Clients are counted in topic levels and id length before our hooks run.
      maxClientsIdLength: 128,
      // Telemetry topics have 3 levels; deeper ones are refused before any topic matching.
      maxTopicLevels: 8,
      // Half-open connections (slowloris) cost a socket each until then.
      connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      authenticate(client, username, password, done) {
        const c = client as IdentifiedClient;
        if (!isValidId(client.id)) {
          reject(client, 'invalid_client_id', `client id ${JSON.stringify(String(client.id).slice(0, 64))} is outside the id alphabet`);
          return done(authError('client id not allowed', CONNACK.IDENTIFIER_REJECTED), false);
        }
        if (username === undefined || username === '') {
          if (opts.demo) {
            c[IDENTITY] = { deviceId: null, sensors: null };
            return done(null, true);
          }
          reject(client, 'auth_failed', 'no username given (anonymous devices are allowed only in demo mode)');
          return done(authError('username and password required', CONNACK.NOT_AUTHORIZED), false);
        }
        if (!isValidId(username)) {
          reject(client, 'invalid_client_id', `username ${JSON.stringify(String(username).slice(0, 64))} is outside the id alphabet`);
          return done(authError('bad username', CONNACK.BAD_USERNAME_OR_PASSWORD), false);
        }
        deps.auth
          .authenticateDevice(username, password?.toString('utf8') ?? '')
          .then((device) => {
            if (!device) {
              reject(client, 'auth_failed', `wrong password or unknown device "${username}"`);
              return done(authError('bad username or password', CONNACK.BAD_USERNAME_OR_PASSWORD), false);
            }
            c[IDENTITY] = { deviceId: device.deviceId, sensors: new Set(device.sensors) };
            done(null, true);
          })
          .catch((err: Error) => {
            log.error({ err }, 'device authentication failed with an internal error; refusing the connection');
            done(authError('server unavailable', 3), false);
          });
      },
      authorizePublish(client, packet, done) {
        const identity = (client as IdentifiedClient | null)?.[IDENTITY];
        if (!client || !identity) return done(new Error('not connected'));
        const sensorId = sensorFromTopic(packet.topic);
        if (sensorId === null) {
          reject(client, 'not_authorized', `topic ${JSON.stringify(packet.topic.slice(0, 200))} is not sensors/<sensor_id>/telemetry`, packet.topic.slice(0, 200));
          return done(new Error('topic not allowed'));
        }
        if (identity.sensors && !identity.sensors.has(sensorId)) {
          reject(client, 'not_authorized', `device "${identity.deviceId}" does not own sensor "${sensorId}"`, packet.topic);
          return done(new Error('not your sensor'));
        }
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        deps.ingestor
          .ingest(
            { source: 'mqtt', topic: packet.topic, deviceId: identity.deviceId, receivedAt: deps.clock.now(), payload },
            { topicSensorId: sensorId },
          )
          .then(
            () => done(null),
            (err: Error) => {
              if (err instanceof SpoolFullError) reject(client, 'spool_full', err.message, packet.topic);
              else log.error({ err, topic: packet.topic }, 'could not store a message durably; not acknowledging it (the device will retry)');
              done(err);
            },
          );
      },
      authorizeSubscribe(client, sub, done) {
        log.warn({ clientId: client.id, topic: sub.topic }, 'refused a subscription: devices may only publish telemetry');
        done(null, null);
      },
    });
    broker.on('clientError', (client, err) => {
      // Aedes refuses these PUBLISH topics itself, before authorizePublish: count them like any other refusal.
      if (TOPIC_REFUSED_BY_AEDES.test(err.message)) reject(client, 'not_authorized', `publish refused by the broker: ${err.message}`);
      else log.debug({ clientId: client.id, err: err.message }, 'client error');
    });
    broker.on('connectionError', (client, err) => log.debug({ clientId: client?.id, err: err.message }, 'connection error'));

    const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    const onSocket = (socket: Socket) => {
      let client: Client | null = null;
      const conn = guardedConnection(socket, maxPacketBytes, (err) =>
        reject(client, 'packet_too_large', `${err.message} (from ${socket.remoteAddress ?? 'unknown address'})`),
      );
      client = broker.handle(conn);
    };
    const server: Server = opts.tls
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS }, onSocket)
      : createServer(onSocket);
    const port = await listen(
      server,
      opts.host,
      opts.port,
      'MQTT',
      'Pick another with --mqtt-port <port> (or mqtt.port in the config file, SENSORPIPE_MQTT__PORT in the environment).',
    ).catch((err: unknown) => {
      broker.close();
      throw err;
    });
    log.info({ port, demo: opts.demo, tls: !!opts.tls }, `MQTT broker listening on ${opts.host}:${port}${opts.tls ? ' (TLS)' : ''}`);
    return new EmbeddedMqttSource(broker, server, port);
  }

  get connectedClients(): number {
    return this.broker.connectedClients;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await closed;
  }
}
