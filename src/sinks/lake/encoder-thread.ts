import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../runtime/start-worker.js';
import type { EncoderReply, EncoderRequest, EncoderWorkerData } from './encoder-protocol.js';
import { columnBuffers, toColumns } from './raw-columns.js';
import type { EncodeJob, ParquetEncoding, QuarantineRow, RawRow } from './parquet-encoder.js';

type Pending = { resolve(): void; reject(err: Error): void };

/**
 * A ParquetEncoder on a thread of its own (encoder-worker.ts), same calls. The lake runs its
 * encoding there so that the event loop, which also acknowledges MQTT and HTTP, only groups rows
 * into columns. Calls are answered in order; one that fails rejects with the encoder's message.
 * When the thread dies every pending call rejects and `alive` turns false: the caller makes a new
 * one (the writer retries the batch, and the files are rewritten under the same names).
 */
export class ParquetEncoderThread {
  static async create(encoding: ParquetEncoding): Promise<ParquetEncoderThread> {
    const data: EncoderWorkerData = { encoding };
    const worker = startWorker(import.meta.url, 'encoder-worker', data);
    await new Promise<void>((resolve, reject) => {
      const done = (): void => void worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      const onMessage = (m: EncoderReply): void => {
        if (m.type === 'ready') {
          done();
          resolve();
        } else if (m.type === 'failed') {
          done();
          void worker.terminate();
          reject(new Error(`lake encoder: ${m.message}`));
        }
      };
      const onError = (err: Error): void => {
        done();
        reject(new Error(`lake encoder thread failed to start: ${err.message}`, { cause: err }));
      };
      const onExit = (code: number): void => {
        done();
        reject(new Error(`lake encoder thread exited with code ${code} before it was ready`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    return new ParquetEncoderThread(worker);
  }

  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private death: Error | null = null;
  private closing = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: EncoderReply) => {
      if (m.type !== 'reply') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p?.resolve();
      else p?.reject(Object.assign(new Error(m.message), { stack: m.stack }));
    });
    worker.on('error', (err) => this.died(`it threw: ${err.message}`));
    worker.on('exit', (code) => this.died(`it exited with code ${code}`));
    // An idle encoder must not keep the process alive; a pending call does.
    worker.unref();
  }

  get alive(): boolean {
    return this.death === null && !this.closing;
  }

  writeRaw(jobs: EncodeJob<RawRow>[]): Promise<void> {
    if (jobs.length === 0) return Promise.resolve();
    const columns = toColumns(jobs.map((j) => j.rows));
    return this.call({ op: 'raw', jobs: jobs.map((j, i) => ({ path: j.path, columns: columns[i] })) }, columns.flatMap(columnBuffers));
  }

  writeQuarantine(jobs: EncodeJob<QuarantineRow>[]): Promise<void> {
    if (jobs.length === 0) return Promise.resolve();
    return this.call({ op: 'quarantine', jobs }, []);
  }

  /** Stops the thread (its DuckDB instance goes with it). Calls still pending are rejected. */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private call(req: Omit<EncoderRequest, 'id'>, transfer: ArrayBuffer[]): Promise<void> {
    if (this.death) return Promise.reject(this.death);
    if (this.closing) return Promise.reject(new Error('lake encoder is closed'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...req, id } as EncoderRequest, transfer);
    });
  }

  private died(reason: string): void {
    if (this.death) return;
    this.death = this.closing
      ? new Error('lake encoder is closed')
      : new Error(`lake encoder thread stopped (${reason}); the batch is retried with a new encoder, nothing acknowledged is lost`);
    for (const p of this.pending.values()) p.reject(this.death);
    this.pending.clear();
  }
}
