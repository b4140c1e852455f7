import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { BodyError, readBody } from '../../src/api/body-reader.js';

const limits = { maxBodyBytes: 1000, maxDecompressedBytes: 100_000 };
const chunked = (b: Buffer, size = 97) => Readable.from(Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size)));

test('plain and gzip bodies come back byte for byte', async () => {
  const text = Buffer.from('m,host=a v=1\n'.repeat(50));
  assert.deepEqual((await readBody(chunked(text), false, limits)).body, text);
  const big = Buffer.from('x'.repeat(90_000));
  const r = await readBody(chunked(gzipSync(big)), true, limits);
  assert.deepEqual(r.body, big);
  assert.ok(r.wireBytes < 1000);
});

test('over the wire limit, over the inflated limit, broken gzip', async () => {
  await assert.rejects(readBody(chunked(Buffer.alloc(1001)), false, limits), (e: BodyError) => e.statusCode === 413 && /maxBodyBytes \(1000 bytes\)/.test(e.message));
  await assert.rejects(readBody(chunked(gzipSync(Buffer.alloc(100_001))), true, limits), (e: BodyError) => e.statusCode === 413 && /maxDecompressedBytes/.test(e.message));
  await assert.rejects(readBody(chunked(Buffer.from('not gzip at all')), true, limits), (e: BodyError) => e.statusCode === 400 && /not valid gzip/.test(e.message));
});

test('a gzip bomb stops inflating at the limit: memory stays near the limit, not the inflated size', async () => {
  // 1 GiB of zeros compresses to ~1 MiB; inflating it fully would need 1 GiB.
  const chunk = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const bomb = Buffer.concat(Array.from({ length: 16 }, () => chunk)); // gzip members concatenate
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 1);
  await assert.rejects(readBody(chunked(bomb, 64 * 1024), true, { maxBodyBytes: 4 << 20, maxDecompressedBytes: 1 << 20 }), (e: BodyError) => e.statusCode === 413);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.ok(peak - before < 64 * 1024 * 1024, `rss grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
});
