/**
 * Prometheus metrics of one Sensorpipe instance (docs/monitoring.md lists them all).
 *
 * One `Registry` per instance, never prom-client's global one, so several instances in one process
 * (tests) do not collide. Pipeline counters are fed through the core `PipelineObserver` the writer,
 * ingestor and scheduler call; spool and writer state are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobRunObservation, PipelineObserver } from '../core/observer.js';
import type { Clock, EpochMs, Logger, SinkBatch, SpoolStats, WarehouseOutcome } from '../core/types.js';
import { silentLogger } from '../core/types.js';
import { SensorLastSeen } from './sensor-last-seen.js';

/** Seconds; from sub-second flushes to readings a day late. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];
const SINK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];

/** One value of a gauge registered through `registerGauge`. */
export interface GaugeSample {
  labels?: Record<string, string>;
  value: number;
}

export interface GaugeDefinition {
  /** Prometheus name, `sensorpipe_` prefix by convention. */
  name: string;
  help: string;
  labelNames?: string[];
  /** Called at every scrape; what it returns is the gauge's whole content. A throw leaves the gauge empty (NaN without labels), counted and logged. */
  read(): GaugeSample[] | Promise<GaugeSample[]>;
}

/** What the metrics read at scrape time. */
export interface MetricsState {
  spool(): Promise<SpoolStats>;
  /** The writer's running state, null before the writer exists. */
  writer(): { consecutiveFailures: number } | null;
}

export interface MetricsOptions {
  clock: Clock;
  logger?: Logger;
  /** Most sensors with their own `sensor_id` label on the last-seen gauge; the rest are aggregated as `_other`. */
  maxSensorLabels: number;
  /** Node.js process metrics (collectDefaultMetrics); on by default. */
  processMetrics?: boolean;
}

export class SensorpipeMetrics implements PipelineObserver {
  readonly registry = new Registry();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private state: MetricsState | null = null;
  private readonly lastSeen: SensorLastSeen;
  /** Highest spool offset already counted. */
  private countedUpTo = 0;

  private readonly items: Counter<'source' | 'outcome' | 'reason'>;
  private readonly received: Counter<'source'>;
  private readonly duplicates: Counter;
  private readonly unrecorded: Counter<'source' | 'reason'>;
  private readonly latency: Histogram<'since'>;
  private readonly sinkDuration: Histogram<'sink'>;
  private readonly sinkErrors: Counter<'sink'>;
  private readonly jobDuration: Histogram<'job'>;
  private readonly jobRuns: Counter<'job' | 'status'>;
  private readonly jobLastSuccess: Gauge<'job'>;
  private readonly collectErrors: Counter<'metric'>;

  constructor(opts: MetricsOptions) {
    this.clock = opts.clock;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'metrics' });
    this.lastSeen = new SensorLastSeen(opts.maxSensorLabels);
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.items = new Counter({
      name: 'sensorpipe_items_total',
      help: 'Items written to the warehouse by outcome (accepted, quarantined, rejected) and reason code, since process start: received = accepted + quarantined + rejected',
      labelNames: ['source', 'outcome', 'reason'],
      registers,
    });
    this.received = new Counter({ name: 'sensorpipe_items_received_total', help: 'Items received and written to the warehouse, by source (the left side of the accounting identity)', labelNames: ['source'], registers });
    this.duplicates = new Counter({ name: 'sensorpipe_items_duplicate_total', help: 'Accepted readings that were exact repeats of stored ones (stored once; a subset of outcome="accepted")', registers });
    this.unrecorded = new Counter({
      name: 'sensorpipe_refusals_unrecorded_total',
      help: 'Refusals at the door the spool could not record (spool full or failing): not acknowledged, counted only here and in the live counters, not in sensorpipe_items_total',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.latency = new Histogram({
      name: 'sensorpipe_queryable_latency_seconds',
      help: 'Per accepted reading: time from its device timestamp (since="device_time") or from its arrival (since="receive_time") until the warehouse commit made it queryable',
      labelNames: ['since'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sinkDuration = new Histogram({ name: 'sensorpipe_sink_write_duration_seconds', help: 'Duration of one batch write to a sink (warehouse, lake), failed writes included', labelNames: ['sink'], buckets: SINK_BUCKETS, registers });
    this.sinkErrors = new Counter({ name: 'sensorpipe_sink_write_errors_total', help: 'Batch writes that failed, by sink; the batch stays in the spool and is retried', labelNames: ['sink'], registers });
    this.jobDuration = new Histogram({ name: 'sensorpipe_job_duration_seconds', help: 'Duration of recorded job runs (one time window each)', labelNames: ['job'], buckets: JOB_BUCKETS, registers });
    this.jobRuns = new Counter({ name: 'sensorpipe_job_runs_total', help: 'Recorded job runs by status (ok, failed, skipped)', labelNames: ['job', 'status'], registers });
    this.jobLastSuccess = new Gauge({ name: 'sensorpipe_job_last_success_timestamp_seconds', help: 'When a run of the job last succeeded (Unix seconds), since process start', labelNames: ['job'], registers });
    this.collectErrors = new Counter({ name: 'sensorpipe_metrics_collect_errors_total', help: 'Scrapes in which reading a metric failed (the metric was left out; see the server log)', labelNames: ['metric'], registers });

    this.stateGauges();
    this.registerGauge({
      name: 'sensorpipe_sensor_last_seen_timestamp_seconds',
      help: `When a reading of the sensor was last accepted (arrival time, Unix seconds). At most ${opts.maxSensorLabels} sensors get their own label (the first seen); the others share sensor_id="_other", whose value is the OLDEST last-seen among them`,
      labelNames: ['sensor_id'],
      read: () => this.lastSeen.samples().map((s) => ({ labels: { sensor_id: s.sensorId }, value: s.lastSeenMs / 1000 })),
    });
    this.registerGauge({
      name: 'sensorpipe_sensors_seen',
      help: 'Sensors with an accepted reading since process start, by whether they have their own last-seen label (labelled="true") or are aggregated in _other',
      labelNames: ['labelled'],
      read: () => [
        { labels: { labelled: 'true' }, value: this.lastSeen.labelled },
        { labels: { labelled: 'false' }, value: this.lastSeen.aggregated },
      ],
    });
  }

  /** Connects the scrape-time state (spool, writer); until then those gauges are absent. */
  watch(state: MetricsState): void {
    this.state = state;
  }

  /**
   * The seam for other components (alert states, notifiers): a gauge whose content `read` gives at
   * every scrape. Throws when the name is taken or invalid (a programming error).
   */
  registerGauge(def: GaugeDefinition): void {
    const { logger, collectErrors } = this;
    new Gauge({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames ?? [],
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const s of await def.read()) {
            if (s.labels) this.set(s.labels, s.value);
            else this.set(s.value);
          }
        } catch (err) {
          // prom-client always exposes a gauge without labels; NaN says "unknown" where 0 would be a value.
          if (!def.labelNames?.length) this.set(NaN);
          collectErrors.inc({ metric: def.name });
          logger.warn({ err, metric: def.name }, `could not read metric ${def.name}; it is left out of this scrape`);
        }
      },
    });
  }

  /** The exposition text and its content type, for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  // ---- PipelineObserver ----

  warehouseCommitted(batch: SinkBatch, outcome: WarehouseOutcome, at: EpochMs): void {
    // A range written again (a drain racing the writer loop) answers with the stored outcome: count it once.
    if (batch.toOffset <= this.countedUpTo) return;
    if (batch.fromOffset <= this.countedUpTo) {
      const fresh = batch.records.filter((r) => r.offset > this.countedUpTo);
      outcome = { ...outcome, conflicts: outcome.conflicts.filter((c) => c.offset > this.countedUpTo) };
      batch = { ...batch, fromOffset: fresh[0]?.offset ?? batch.toOffset, records: fresh };
    }
    this.countedUpTo = batch.toOffset;
    const conflicts = new Set(outcome.conflicts.map((c) => `${c.offset}|${c.sensorId}|${c.metric}|${c.ts}`));
    const conflictsBySource = new Map<string, number>();
    for (const c of outcome.conflicts) conflictsBySource.set(c.source, (conflictsBySource.get(c.source) ?? 0) + 1);
    const add = (source: string, outcome: 'accepted' | 'quarantined' | 'rejected', reason: string, n: number) => {
      if (n <= 0) return;
      this.items.inc({ source, outcome, reason }, n);
      this.received.inc({ source }, n);
    };
    const acceptedBySource = new Map<string, number>();
    // Label lookups once per batch, not per reading (a batch holds thousands).
    const deviceLatency = this.latency.labels({ since: 'device_time' });
    const receiveLatency = this.latency.labels({ since: 'receive_time' });
    for (const r of batch.records) {
      if (r.kind === 'rejected') {
        add(r.source, 'rejected', r.reason, 1);
        continue;
      }
      const m = r.message;
      for (const q of r.quarantined) add(m.source, 'quarantined', q.reason, 1);
      const sinceReceived = Math.max(0, at - m.receivedAt) / 1000;
      let accepted = 0;
      for (const reading of r.readings) {
        if (conflicts.size > 0 && conflicts.has(`${r.offset}|${reading.sensorId}|${reading.metric}|${storedMs(reading.ts)}`)) continue;
        accepted++;
        deviceLatency.observe(Math.max(0, at - reading.ts) / 1000);
        receiveLatency.observe(sinceReceived);
        this.lastSeen.saw(reading.sensorId, m.receivedAt);
      }
      if (accepted > 0) acceptedBySource.set(m.source, (acceptedBySource.get(m.source) ?? 0) + accepted);
    }
    for (const [source, n] of acceptedBySource) add(source, 'accepted', '', n);
    for (const [source, n] of conflictsBySource) add(source, 'quarantined', 'conflicting_duplicate', n);
    if (outcome.duplicates > 0) this.duplicates.inc(outcome.duplicates);
  }

  sinkWrite(sink: 'warehouse' | 'lake', seconds: number, ok: boolean): void {
    this.sinkDuration.observe({ sink }, seconds);
    if (!ok) this.sinkErrors.inc({ sink });
  }

  refusalNotRecorded(source: string, reason: string): void {
    this.unrecorded.inc({ source, reason });
  }

  jobRun(run: JobRunObservation): void {
    this.jobRuns.inc({ job: run.job, status: run.status });
    this.jobDuration.observe({ job: run.job }, run.durationMs / 1000);
    if (run.status === 'ok') this.jobLastSuccess.set({ job: run.job }, this.clock.now() / 1000);
  }

  /** Spool depth, lag and writer state, read at every scrape (spool stats are in memory, so cheap). */
  private stateGauges(): void {
    const fromSpool = (name: string, help: string, value: (s: SpoolStats) => number) =>
      this.registerGauge({
        name,
        help,
        read: async () => (this.state ? [{ value: value(await this.state.spool()) }] : []),
      });
    fromSpool('sensorpipe_spool_depth_records', 'Records in the durable spool not yet written to every sink', (s) => s.depthRecords);
    fromSpool('sensorpipe_spool_depth_bytes', 'Bytes in the durable spool not yet written to every sink', (s) => s.depthBytes);
    fromSpool('sensorpipe_spool_limit_bytes', 'spool.maxBytes: at this depth Sensorpipe stops acknowledging', (s) => s.limitBytes);
    fromSpool(
      'sensorpipe_pipeline_lag_seconds',
      'Age of the oldest spool entry not yet written to the sinks (the spool holds only those, so this is also its oldest age); 0 when everything is written',
      (s) => (s.oldestUnwrittenAt === null ? 0 : Math.max(0, this.clock.now() - s.oldestUnwrittenAt) / 1000),
    );
    fromSpool('sensorpipe_pipeline_lag_offsets', 'Spool offsets appended but not yet committed by the writer (last offset - writer commit offset)', (s) => s.lastOffset - s.checkpoint);
    fromSpool('sensorpipe_spool_last_offset', 'Offset of the last entry appended to the spool', (s) => s.lastOffset);
    fromSpool('sensorpipe_writer_committed_offset', 'Spool offset up to which every sink has written (the writer checkpoint)', (s) => s.checkpoint);
    this.registerGauge({
      name: 'sensorpipe_writer_consecutive_failures',
      help: 'Batch writes that failed in a row (0 when the last one succeeded); the writer retries with backoff',
      read: () => {
        const w = this.state?.writer();
        return w ? [{ value: w.consecutiveFailures }] : [];
      },
    });
  }
}

/** The warehouse stores times with microsecond precision; conflicts carry the stored value. */
function storedMs(ms: EpochMs): EpochMs {
  return Math.round(ms * 1000) / 1000;
}
