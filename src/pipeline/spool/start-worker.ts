import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../runtime/start-worker.js';
import type { WorkerConfig } from './spool-protocol.js';

/** Starts spool-worker (a thread of its own: SQLite's fsync must not block the event loop). */
export function startSpoolWorker(config: WorkerConfig): Worker {
  return startWorker(import.meta.url, 'spool-worker', config);
}
