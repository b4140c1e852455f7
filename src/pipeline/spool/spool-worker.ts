import { parentPort, workerData } from 'node:worker_threads';
import { armCrashPoints } from '../../core/faults.js';
import type { Reply, Request, WorkerConfig } from './spool-protocol.js';
import { serializeError } from './spool-protocol.js';
import { SpoolStore } from './spool-store.js';

/**
 * Runs the spool's SQLite file off the main thread, so fsync never stalls the event loop.
 * Requests are handled one at a time in arrival order; the main thread sends at most one
 * append at a time (it batches the rest), so each append here is one group commit.
 */
const port = parentPort!;
const config = workerData as WorkerConfig;

function send(reply: Reply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
}

function openStore(): SpoolStore | null {
  try {
    return new SpoolStore(config.file, config.reclaim);
  } catch (err) {
    send({ type: 'open-failed', error: serializeError(err) });
    port.close();
    return null;
  }
}

function serve(store: SpoolStore): void {
  let maintenanceScheduled = false;
  let closed = false;

  // Each step is its own macrotask, so requests that arrive meanwhile are served between steps.
  const step = (): void => {
    if (closed) return;
    let more = false;
    try {
      more = store.maintenanceStep();
    } catch (err) {
      send({
        type: 'log',
        level: 'warn',
        obj: { err: serializeError(err), file: config.file },
        msg: 'spool space reclamation failed; it is retried after the next commit',
      });
    }
    if (more) setImmediate(step);
    else maintenanceScheduled = false;
  };
  const scheduleMaintenance = (): void => {
    if (maintenanceScheduled || closed) return;
    maintenanceScheduled = true;
    setImmediate(step);
  };

  port.on('message', (req: Request) => {
    let result: unknown;
    const transfer: ArrayBuffer[] = [];
    try {
      switch (req.op) {
        case 'append':
          result = store.append(req.batch);
          break;
        case 'read': {
          const rows = store.read(req.after, req.max);
          transfer.push(rows.payloads.buffer);
          result = rows;
          break;
        }
        case 'commit':
          if (req.armCrash) armCrashPoints();
          if (store.commit(req.offset)) scheduleMaintenance();
          break;
        case 'setInflight':
          store.setInflight(req.range);
          break;
        case 'reclaim':
          while (store.maintenanceStep());
          break;
        case 'pragma':
          result = store.pragma(req.pragma);
          break;
        case 'close':
          closed = true;
          store.close();
          break;
      }
    } catch (err) {
      send({ type: 'reply', id: req.id, ok: false, error: serializeError(err), state: store.current() });
      return;
    }
    send({ type: 'reply', id: req.id, ok: true, result, state: store.current() }, transfer);
    if (req.op === 'close') port.close();
  });

  send({ type: 'opened', state: store.current() });
  // Reclaim what an earlier run left behind (e.g. a large backlog drained just before a restart).
  scheduleMaintenance();
}

const store = openStore();
if (store) serve(store);
