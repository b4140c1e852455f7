import type { EpochMs, SinkBatch, WarehouseOutcome } from './types.js';

/** How one job run ended, as the scheduler records it in job_runs. */
export interface JobRunObservation {
  job: string;
  status: 'ok' | 'failed' | 'skipped';
  trigger: 'schedule' | 'manual' | 'pending';
  durationMs: number;
}

/**
 * What the pipeline tells the monitoring side (the Prometheus metrics in src/observability) while it
 * works. Core defines it so the pipeline, the writer and the scheduler need no metrics library.
 *
 * Every method is called synchronously on the hot path and must return quickly and never throw:
 * an observer that fails would otherwise fail a write or a job. Observations are for this process
 * only (counters since start); the durable accounting stays in the warehouse.
 */
export interface PipelineObserver {
  /**
   * Writer: the warehouse committed `batch` (its readings are queryable from `at` on, server clock)
   * with `outcome`. Called once per batch, after the warehouse commit and before the lake write.
   */
  warehouseCommitted(batch: SinkBatch, outcome: WarehouseOutcome, at: EpochMs): void;
  /** Writer: one call to a sink's writeBatch returned (`ok`) or threw, after `seconds`. */
  sinkWrite(sink: 'warehouse' | 'lake', seconds: number, ok: boolean): void;
  /**
   * Ingestor: a refusal at the door that the spool could not record (full or failing). It is in no
   * durable count; the observer is the only place it is counted besides the in-memory live counters.
   */
  refusalNotRecorded(source: string, reason: string): void;
  /** Scheduler: a job run (scheduled, manual or pending work) finished and was recorded. Not for dry runs. */
  jobRun(run: JobRunObservation): void;
}

export const noopObserver: PipelineObserver = {
  warehouseCommitted() {},
  sinkWrite() {},
  refusalNotRecorded() {},
  jobRun() {},
};
