import type { Clock, Logger, Message, Spool, SpoolEntry, Validated } from '../core/types.js';
import type { MemoryRegistry, MetricSpec } from '../core/registry.js';
import type { RejectReason } from '../core/reasons.js';
import type { ValidationConfig } from '../config/schema.js';
import { validateMessage, type MessageScope, type ValidateContext } from './validate.js';
import type { Counters } from './counters.js';
import { crashPoint } from '../core/faults.js';
import type { PipelineObserver } from '../core/observer.js';

/** Decodes and validates one message in some payload format; never throws (bad data is a value). */
export type Decoder = (message: Message, scope: MessageScope, ctx: ValidateContext) => Validated;

export interface IngestResult extends Validated {
  firstOffset: number;
  lastOffset: number;
}

/**
 * The front half of the pipeline shared by every source: decode and validate a message, then
 * append it durably to the spool. When `ingest` resolves, the source may acknowledge; when it
 * rejects (SpoolFullError, disk fault), the source must NOT acknowledge.
 */
export class Ingestor {
  constructor(
    private readonly deps: {
      spool: Spool;
      registry: MemoryRegistry;
      validation: ValidationConfig;
      metricDefaults: Record<string, MetricSpec>;
      clock: Clock;
      logger: Logger;
      counters: Counters;
      /** Told about refusals the spool could not record (metrics). */
      observer?: PipelineObserver;
    },
  ) {}

  /** Validates with `decode` (Sensorpipe JSON by default; HTTP ingest passes SenML, line protocol, NDJSON). */
  validate(message: Message, scope: MessageScope, decode: Decoder = validateMessage): Validated {
    const { registry, validation, metricDefaults, clock } = this.deps;
    return decode(message, scope, { registry, config: validation, metricDefaults, clock });
  }

  async ingest(message: Message, scope: MessageScope, decode: Decoder = validateMessage): Promise<IngestResult> {
    const validated = this.validate(message, scope, decode);
    this.deps.counters.received(message.source, validated);
    // A kill here: the message is validated but not stored, so the source must not have acknowledged it.
    crashPoint('ingest.before-append');
    const { firstOffset, lastOffset } = await this.deps.spool.append([
      { kind: 'message', message, readings: validated.readings, quarantined: validated.quarantined },
    ]);
    this.autoRegister(validated);
    return { ...validated, firstOffset, lastOffset };
  }

  /**
   * Records a refusal at the door so the accounting identity holds durably. Best effort: when the
   * spool cannot take it (full or failing) the refusal is still counted in memory and logged.
   */
  async reject(event: { source: string; topic: string | null; deviceId: string | null; reason: RejectReason; detail: string }): Promise<void> {
    this.deps.counters.rejected(event.source, event.reason);
    const entry: SpoolEntry = { kind: 'rejected', receivedAt: this.deps.clock.now(), ...event };
    try {
      await this.deps.spool.append([entry]);
    } catch (err) {
      this.deps.counters.rejectedNotRecorded(event.source, event.reason);
      this.deps.observer?.refusalNotRecorded(event.source, event.reason);
      this.deps.logger.warn({ err, reason: event.reason }, 'could not record a rejected message in the spool (counted in memory only)');
    }
  }

  private autoRegister(v: Validated): void {
    const { registry, metricDefaults } = this.deps;
    if (registry.policy !== 'auto') return;
    for (const r of v.readings) {
      let spec = registry.get(r.sensorId);
      if (!spec) {
        spec = { sensorId: r.sensorId, location: null, type: null, expectedIntervalS: null, metrics: {} };
        registry.set(spec);
      }
      if (!spec.metrics[r.metric]) spec.metrics[r.metric] = metricDefaults[r.metric] ?? { unit: null, min: null, max: null };
    }
  }
}
