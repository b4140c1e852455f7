import { Worker } from 'node:worker_threads';
import type { WorkerConfig } from './spool-protocol.js';

/**
 * Starts spool-worker from compiled `dist/` (.js) or from source under tsx (.ts).
 *
 * Under tsx on Node 20 a worker inherits `--import tsx` in its execArgv, yet tsx does not install
 * its loader hooks inside worker threads, so `new Worker('spool-worker.ts')` fails with
 * ERR_UNKNOWN_FILE_EXTENSION. The source case therefore boots through a tiny eval script that
 * registers tsx in the worker first. tsx is a dev dependency and only touched in that case.
 */
export function startSpoolWorker(config: WorkerConfig): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return new Worker(new URL('./spool-worker.js', import.meta.url), { workerData: config });
  const entry = new URL('./spool-worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: config });
}
