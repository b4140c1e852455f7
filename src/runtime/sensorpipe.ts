import { mkdirSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { MemoryRegistry } from '../core/registry.js';
import { systemClock, type Clock, type Logger, type Spool } from '../core/types.js';
import { AuthStore } from '../auth/auth-store.js';
import { SqliteSpool } from '../pipeline/spool/sqlite-spool.js';
import { JetStreamSpool } from '../pipeline/spool/jetstream-spool.js';
import { openWarehouse } from '../sinks/warehouse/open-warehouse.js';
import type { Warehouse } from '../core/sinks.js';
import { openLake } from '../sinks/lake/open-lake.js';
import type { ParquetLake } from '../sinks/lake/parquet-lake.js';
import { Ingestor } from '../pipeline/ingestor.js';
import { Counters } from '../pipeline/counters.js';
import { Writer } from '../pipeline/writer.js';
import { EmbeddedMqttSource } from '../sources/mqtt-embedded.js';
import { ExternalMqttSource } from '../sources/mqtt-external.js';
import { buildHttpApp } from '../api/http-app.js';
import { allJobs } from '../jobs/catalog.js';
import { Scheduler } from '../jobs/scheduler.js';
import { PortInUseError } from '../sources/listen.js';
import { dataPaths } from './paths.js';
import { armCrashPoints } from '../core/faults.js';
import { readTlsFiles } from '../sources/tls-files.js';
import { Alerting } from '../alerting/runtime.js';
import { LeaderElection } from './leader-election.js';
import { Notifiers } from '../notifiers/notifier-set.js';
import { SensorpipeMetrics } from '../observability/metrics.js';
import { checkReadiness } from '../observability/readiness.js';

export interface StartOptions {
  clock?: Clock;
  logger: Logger;
  /** Leader election only: what to do when the leader's PostgreSQL session is lost (default: exit with code 5). */
  onLeadershipLost?: (reason: string) => void;
  /** In demo mode a busy default port falls back to a free one (and says so) instead of failing. */
  fallbackOnBusyPort?: boolean;
}

/** One Sensorpipe process with embedded defaults: spool, DuckDB warehouse, file lake, Aedes broker, HTTP. */
export class Sensorpipe {
  /** The subscriber on an external broker (mqttExternal), when enabled. */
  external: ExternalMqttSource | null = null;

  /** Where notifications go (config `notifiers`); the alert manager and the digest send through it. */
  notifiers: Notifiers = new Notifiers([]);
  /** Leader election among collectors (cluster.leaderElection: postgres); null when this process always leads. */
  election: LeaderElection | null = null;

  /** Alert rules, states and notifications (docs/alerting.md); null when stopped. */
  alerting: Alerting | null = null;

  private constructor(
    readonly config: Config,
    readonly paths: ReturnType<typeof dataPaths>,
    readonly auth: AuthStore,
    readonly spool: Spool,
    /** DuckDB or PostgreSQL, by warehouse.kind. */
    readonly warehouse: Warehouse,
    /** On the file system or Azure Blob, by lake.kind. */
    readonly lake: ParquetLake,
    readonly registry: MemoryRegistry,
    readonly counters: Counters,
    readonly ingestor: Ingestor,
    readonly writer: Writer,
    readonly mqtt: EmbeddedMqttSource | null,
    readonly http: FastifyInstance | null,
    readonly httpPort: number | null,
    readonly localToken: string,
    private readonly logger: Logger,
    private readonly deviceSync: NodeJS.Timeout,
    /** Batch jobs (resample, rollups, retention, …): started after the writer, stopped before it. */
    readonly scheduler: Scheduler,
    /** Prometheus metrics of this instance (its own registry); `metrics.registerGauge` lets other components export state. */
    readonly metrics: SensorpipeMetrics,
  ) {}

  static async start(config: Config, opts: StartOptions): Promise<Sensorpipe> {
    const clock = opts.clock ?? systemClock;
    const logger = opts.logger;
    const paths = dataPaths(config.dataDir);
    mkdirSync(paths.root, { recursive: true });

    const auth = AuthStore.open(paths.auth);
    const spool: Spool =
      config.spool.kind === 'jetstream'
        ? await JetStreamSpool.open({ ...config.spool.jetstream, maxBytes: config.spool.maxBytes, logger })
        : await SqliteSpool.open({ dir: paths.spool, maxBytes: config.spool.maxBytes, logger });
    const warehouse = await openWarehouse({ warehouse: config.warehouse, duckdbPath: paths.warehouse, metricDefaults: config.registry.metricDefaults, logger, clock });
    const lake = await openLake(config.lake, paths, logger);
    const registry = new MemoryRegistry(config.validation.unknownSensorPolicy, await warehouse.loadRegistry());
    const counters = new Counters();
    const metrics = new SensorpipeMetrics({ clock, logger, maxSensorLabels: config.metrics.maxSensorLabels });
    const ingestor = new Ingestor({
      observer: metrics,
      spool,
      registry,
      validation: config.validation,
      metricDefaults: config.registry.metricDefaults,
      clock,
      logger,
      counters,
    });
    const writer = new Writer({ spool, warehouse, lake, clock, logger, observer: metrics }, config.writer);
    metrics.watch({ spool: () => spool.stats(), writer: () => writer.stats });
    const notifiers = Notifiers.fromConfig(config.notifiers, { clock, logger });
    const scheduler = new Scheduler(allJobs(config, { notifiers }), { warehouse, lake, clock, logger, observer: metrics });
    const alerting = await Alerting.open(config.alerts, { warehouse, spoolStats: () => spool.stats(), notifiers, clock, logger });
    // The leader's duties. With one process that is this one; collectors sharing a JetStream spool
    // and a PostgreSQL warehouse elect one, so that one writer drains the stream (deterministic
    // ranges) and jobs and alerts run once.
    const lead = async () => {
      // Whatever the last run left in the spool is written before new traffic arrives.
      await writer.drain();
      writer.start();
      await scheduler.start();
      alerting.startEvaluating();
    };
    let election: LeaderElection | null = null;
    if (config.cluster.leaderElection === 'postgres') {
      if (config.warehouse.kind !== 'postgres' || !config.warehouse.postgres) {
        throw new Error('cluster.leaderElection is postgres but warehouse.kind is not: the leader lock lives in the PostgreSQL warehouse (docs/deploy.md)');
      }
      election = await LeaderElection.start({
        connection: config.warehouse.postgres,
        name: config.cluster.name,
        pollMs: config.cluster.pollMs,
        logger,
        onLeader: lead,
        onLost: opts.onLeadershipLost ?? ((reason) => {
          logger.error({ reason }, `lost leadership: ${reason}. Stopping at once so that only one collector writes; a supervisor should start this collector again (it rejoins as a follower)`);
          process.exit(5);
        }),
      });
      if (!election.isLeader) logger.info({ name: config.cluster.name }, 'another collector leads; this one takes traffic into the shared spool and waits to take over');
    } else {
      await lead();
    }
    for (const gauge of alerting.gauges()) metrics.registerGauge(gauge);

    const syncDevices = () =>
      warehouse.syncDevices(auth.listDevices()).catch((err: Error) => logger.warn({ err }, 'could not mirror devices into the warehouse'));
    await syncDevices();
    const deviceSync = setInterval(syncDevices, 30_000).unref();

    const withFallback = async <T>(what: string, startOn: (port: number) => Promise<T>, port: number): Promise<T> => {
      try {
        return await startOn(port);
      } catch (err) {
        if (!(err instanceof PortInUseError) || !opts.fallbackOnBusyPort) throw err;
        logger.warn(`${what} port ${port} is busy; demo mode picked a free port instead (see below)`);
        return startOn(0);
      }
    };

    const mqtt = config.mqtt.enabled
      ? await withFallback(
          'MQTT',
          (port) => EmbeddedMqttSource.start(
              {
                host: config.mqtt.host,
                port,
                demo: config.demo,
                maxPacketBytes: config.mqtt.maxPacketBytes,
                connectTimeoutMs: config.mqtt.connectTimeoutMs,
                ...(config.mqtt.tls ? { tls: readTlsFiles('mqtt.tls', config.mqtt.tls) } : {}),
              },
              { auth, ingestor, logger, clock }),
          config.mqtt.port,
        )
      : null;
    const external = config.mqttExternal.enabled ? await ExternalMqttSource.start(config.mqttExternal, { ingestor, logger, clock }) : null;

    auth.revokeTokensNamed('local-cli');
    const localToken = auth.createToken('admin', 'local-cli');
    let sp!: Sensorpipe;
    const http = config.http.enabled
      ? buildHttpApp({
          auth,
          warehouse,
          logger,
          sql: config.sql,
          status: { status: () => sp.status() },
          jobs: scheduler,
          alerts: alerting,
          monitoring: {
            metrics: () => metrics.render(),
            readiness: () => checkReadiness({ warehouse, lakeDir: paths.lake, spool: () => spool.stats(), writer: () => writer.stats }),
            notYetCounted: async () => ({ spoolRecords: (await spool.stats()).depthRecords, refusalsNotRecorded: counters.notRecordedSnapshot() }),
          },
          ingestor,
          registry,
          lakeDir: paths.lake,
          lakeStore: lake.store,
          clock,
          ...(config.http.tls ? { https: readTlsFiles('http.tls', config.http.tls) } : {}),
          httpIngest: {
            maxBodyBytes: config.http.maxBodyBytes,
            maxDecompressedBytes: config.http.maxDecompressedBytes,
            lineProtocol: config.http.lineProtocol,
          },
        })
      : null;
    let httpPort: number | null = null;
    if (http) {
      httpPort = await withFallback(
        'HTTP',
        async (port) => {
          try {
            await http.listen({ host: config.http.host, port });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
              throw new PortInUseError('HTTP', port, 'Pick another with --http-port <port> (or http.port in the config file, SENSORPIPE_HTTP__PORT in the environment).');
            }
            throw err;
          }
          const addr = http.server.address();
          return typeof addr === 'object' && addr ? addr.port : port;
        },
        config.http.port,
      );
    }

    sp = new Sensorpipe(config, paths, auth, spool, warehouse, lake, registry, counters, ingestor, writer, mqtt, http, httpPort, localToken, logger, deviceSync, scheduler, metrics);
    sp.notifiers = notifiers;
    sp.alerting = alerting;
    sp.election = election;
    sp.external = external;
    writeFileSync(paths.localToken, localToken + '\n', { mode: 0o600 });
    chmodSync(paths.localToken, 0o600);
    writeFileSync(
      paths.serverInfo,
      JSON.stringify({ pid: process.pid, httpUrl: httpPort ? `${config.http.tls ? 'https' : 'http'}://127.0.0.1:${httpPort}` : null, mqttPort: mqtt?.port ?? null, startedAt: new Date(clock.now()).toISOString() }, null, 2),
    );
    armCrashPoints();
    return sp;
  }

  /** Counts by outcome and reason (durable, from the warehouse) plus live spool and writer state. */
  async status(): Promise<Record<string, unknown>> {
    const spool = await this.spool.stats();
    const accounting = await this.warehouse.accounting();
    const sum = (o: string) => accounting.filter((a) => a.outcome === o).reduce((n, a) => n + a.items, 0);
    return {
      accounting: {
        received: sum('accepted') + sum('quarantined') + sum('rejected'),
        accepted: sum('accepted'),
        quarantined: sum('quarantined'),
        rejected: sum('rejected'),
        duplicates: sum('duplicate'),
        byReason: accounting,
      },
      pending: { note: 'in the spool, not yet written to the sinks (counted above once written)', records: spool.depthRecords },
      spool,
      oldestUnwrittenAgeMs: spool.oldestUnwrittenAt === null ? null : Date.now() - spool.oldestUnwrittenAt,
      writer: this.writer.stats,
      live: { messages: this.counters.messages, byReason: this.counters.snapshot(), notRecorded: this.counters.notRecordedSnapshot() },
      mqtt: this.mqtt ? { port: this.mqtt.port, connectedClients: this.mqtt.connectedClients } : null,
      leader: this.election === null ? 'this process (no election)' : this.election.isLeader,
      mqttExternal: this.external ? { subscription: this.external.filter, connections: this.external.connections, connected: this.external.connected } : null,
    };
  }

  /** Stops taking traffic, writes what is in the spool, and closes everything. */
  async stop(): Promise<void> {
    clearInterval(this.deviceSync);
    // Jobs first: a run in progress finishes its window, backfills stop between windows.
    await this.scheduler.stop();
    await this.alerting?.stop();
    await this.mqtt?.close();
    await this.external?.close();
    await this.http?.close();
    // A follower never drains the shared spool: that is the leader's job.
    await this.writer.stop({ drain: this.election === null || this.election.isLeader });
    await this.election?.stop();
    await this.lake.close();
    await this.warehouse.close();
    await this.spool.close();
    this.auth.revokeToken(this.localToken);
    this.auth.close();
    rmSync(this.paths.serverInfo, { force: true });
    rmSync(this.paths.localToken, { force: true });
  }
}
