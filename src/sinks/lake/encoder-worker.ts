/**
 * The lake's encoder thread: owns a ParquetEncoder (its own in-memory DuckDB) so that appending a
 * batch's rows and writing the sorted zstd files costs the main thread, which also serves MQTT and
 * HTTP, almost nothing. One request at a time, answered in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ParquetEncoder } from './parquet-encoder.js';
import type { EncoderReply, EncoderRequest, EncoderWorkerData } from './encoder-protocol.js';

const port = parentPort!;
const { encoding } = workerData as EncoderWorkerData;
const say = (m: EncoderReply): void => port.postMessage(m);

try {
  const encoder = await ParquetEncoder.create(encoding);
  let queue = Promise.resolve();
  port.on('message', (req: EncoderRequest) => {
    queue = queue.then(async () => {
      try {
        if (req.op === 'raw') await encoder.writeRawColumns(req.jobs);
        else await encoder.writeQuarantine(req.jobs);
        say({ type: 'reply', id: req.id, ok: true });
      } catch (err) {
        const e = err as Error;
        say({ type: 'reply', id: req.id, ok: false, message: e.message, stack: e.stack });
      }
    });
  });
  say({ type: 'ready' });
} catch (err) {
  say({ type: 'failed', message: (err as Error).message });
}
