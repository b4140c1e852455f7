import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits next to the calling module (`callerUrl` is its
 * `import.meta.url`), from compiled `dist/` (.js) or from source under tsx (.ts).
 *
 * Under tsx on Node 20 a worker inherits `--import tsx` in its execArgv, yet tsx does not install
 * its loader hooks inside worker threads, so `new Worker('x.ts')` fails with
 * ERR_UNKNOWN_FILE_EXTENSION. The source case therefore boots through a tiny eval script that
 * registers tsx in the worker first. tsx is a dev dependency and only touched in that case.
 */
export function startWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  if (!fromSource) return new Worker(new URL(`./${name}.js`, callerUrl), { workerData });
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)})` + `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
