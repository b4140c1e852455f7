/**
 * Reads an HTTP request body with limits: at most `maxBodyBytes` on the wire and, for gzip bodies,
 * at most `maxDecompressedBytes` after inflating. Inflating is streamed and stops as soon as the
 * limit is passed, so a gzip bomb costs at most the limit plus one zlib chunk of memory, never the
 * inflated size. Errors carry the HTTP status to answer (413 too large, 400 broken gzip).
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecompressedBytes: number;
}

export interface BodyRead {
  body: Buffer;
  /** Bytes received on the wire. */
  wireBytes: number;
}

export function readBody(stream: Readable, gzip: boolean, limits: BodyLimits): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let out = 0;
    let settled = false;
    const gunzip = gzip ? createGunzip() : null;

    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      if (gunzip) {
        gunzip.removeAllListeners('data');
        gunzip.on('error', () => {}); // late errors after destroy are of no interest
        gunzip.destroy();
      }
      if (err) {
        chunks.length = 0;
        reject(err);
      } else {
        resolve({ body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, out), wireBytes: wire });
      }
    };

    const onData = (chunk: Buffer | string) => {
      const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      wire += c.length;
      if (wire > limits.maxBodyBytes) {
        return finish(
          new BodyError(413, `the request body is over http.maxBodyBytes (${limits.maxBodyBytes} bytes); send smaller batches`),
        );
      }
      if (gunzip) {
        if (!gunzip.write(c)) {
          stream.pause();
          gunzip.once('drain', () => {
            if (!settled) stream.resume();
          });
        }
        return;
      }
      out += c.length;
      chunks.push(c);
    };
    const onEnd = () => {
      if (gunzip) gunzip.end();
      else finish(null);
    };
    const onError = (err: Error) => finish(new BodyError(400, `the request body could not be read: ${err.message}`));

    if (gunzip) {
      gunzip.on('data', (c: Buffer) => {
        if (settled) return;
        out += c.length;
        if (out > limits.maxDecompressedBytes) {
          return finish(
            new BodyError(
              413,
              `the gzip body inflates to more than http.maxDecompressedBytes (${limits.maxDecompressedBytes} bytes); ` +
                'decompression was stopped there; send smaller batches',
            ),
          );
        }
        chunks.push(c);
      });
      gunzip.on('end', () => finish(null));
      gunzip.on('error', (err: Error) => finish(new BodyError(400, `the body is not valid gzip (Content-Encoding: gzip): ${err.message}`)));
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}
