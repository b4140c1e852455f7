import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { SpoolFullError, type SpoolEntry } from '../../src/core/types.js';
import { SqliteSpool } from '../../src/pipeline/spool/sqlite-spool.js';
import { withoutOffset } from '../helpers/spool-records.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'spool-test-'));
  dirs.push(d);
  return d;
}

function message(i: number, payload: Buffer = Buffer.from(`{"t":${i}}`)): SpoolEntry {
  return {
    kind: 'message',
    message: { source: 'mqtt', topic: `sensors/s${i}/telemetry`, deviceId: i % 2 ? `dev-${i}` : null, receivedAt: 1_700_000_000_000 + i, payload },
    readings: [{ sensorId: `s${i}`, metric: 'temperature', ts: 1_700_000_000_000 + i, value: 20.5 + i, seq: i % 3 ? i : null }],
    quarantined: [],
  };
}

function rejected(i: number): SpoolEntry {
  return { kind: 'rejected', source: 'http', topic: null, deviceId: `dev-${i}`, receivedAt: 1_700_000_000_000 + i, reason: 'not_authorized', detail: `device dev-${i} may not publish` };
}

describe('SqliteSpool', () => {
  it('round-trips both entry kinds exactly, including binary and large payloads', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
    const entries: SpoolEntry[] = [
      message(1, Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80])), // invalid UTF-8, NUL
      message(2, Buffer.alloc(0)),
      message(3, big),
      {
        kind: 'message',
        message: { source: 'http', topic: 'sensors/ä/telemetry', deviceId: 'd:1', receivedAt: 1_700_000_000_123, payload: Buffer.from('x') },
        readings: [
          { sensorId: 'a', metric: 'm', ts: 0, value: -0, seq: 0 },
          { sensorId: 'b', metric: 'm', ts: -5, value: Number.MAX_VALUE, seq: Number.MAX_SAFE_INTEGER },
          { sensorId: 'c', metric: 'm', ts: 1.5, value: 5e-324, seq: null },
        ],
        quarantined: [
          { reason: 'non_finite', detail: 'value is NaN', sensorId: 'a', metric: 'm', ts: null, payload: 'lone surrogate \ud800 and 🌡 "quotes" \\' },
          { reason: 'invalid_json', detail: 'bad', sensorId: null, metric: null, ts: 42, payload: '' },
        ],
      },
      rejected(5),
      { kind: 'rejected', source: 'mqtt', topic: 'sensors/x/telemetry', deviceId: null, receivedAt: 1, reason: 'spool_full', detail: '' },
    ];
    const { firstOffset, lastOffset } = await spool.append(entries);
    assert.equal(lastOffset - firstOffset + 1, entries.length);
    const check = async (s: SqliteSpool): Promise<void> => {
      const records = await s.read(0, 100);
      assert.deepEqual(records.map((r) => r.offset), entries.map((_, i) => firstOffset + i));
      records.forEach((r, i) => assert.deepStrictEqual(withoutOffset(r), entries[i]));
    };
    await check(spool);
    await spool.close();
    const reopened = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    await check(reopened);
    await reopened.close();
  });

  it('hands out strictly increasing, unique offsets to 2,000 concurrent appends in few transactions', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    const calls = Array.from({ length: 2000 }, (_, i) => {
      const batch = Array.from({ length: 1 + (i % 3) }, (_, k) => (k % 2 ? rejected(i * 10 + k) : message(i * 10 + k)));
      return { batch, result: spool.append(batch) };
    });
    const results = await Promise.all(calls.map((c) => c.result));
    const seen = new Set<number>();
    let previousLast = 0;
    results.forEach(({ firstOffset, lastOffset }, i) => {
      assert.equal(lastOffset - firstOffset + 1, calls[i].batch.length, `call ${i} got a range of the wrong size`);
      assert.ok(firstOffset > previousLast, `call ${i}: offsets not increasing in call order`);
      for (let o = firstOffset; o <= lastOffset; o++) {
        assert.ok(!seen.has(o), `offset ${o} handed out twice`);
        seen.add(o);
      }
      previousLast = lastOffset;
    });
    const stats = await spool.stats();
    assert.equal(stats.appendCalls, 2000);
    assert.ok(stats.appendTransactions < 2000 / 10, `expected group commit, got ${stats.appendTransactions} transactions for 2000 appends`);
    assert.equal(stats.depthRecords, seen.size);

    const records = await spool.read(0, 10_000);
    assert.equal(records.length, seen.size);
    for (let i = 0; i < calls.length; i += 97) {
      const { firstOffset } = results[i];
      calls[i].batch.forEach((entry, k) => assert.deepStrictEqual(withoutOffset(records[firstOffset - 1 + k]), entry));
    }
    await spool.close();
  });

  it('reads ranges after an offset, limited to max', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 1024 * 1024 });
    await spool.append(Array.from({ length: 10 }, (_, i) => message(i)));
    assert.deepEqual((await spool.read(3, 4)).map((r) => r.offset), [4, 5, 6, 7]);
    assert.deepEqual((await spool.read(8, 100)).map((r) => r.offset), [9, 10]);
    assert.deepEqual(await spool.read(10, 5), []);
    assert.deepEqual(await spool.read(0, 0), []);
    await spool.close();
  });

  it('commit deletes records up to the offset, frees depth and space, and offsets continue after reopen', async () => {
    const dir = await tempDir();
    const reclaim = { minFreePages: 1, stepPages: 64, walTruncateBytes: 0 };
    const spool = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024, reclaim });
    const payload = Buffer.alloc(20_000, 7);
    await Promise.all(Array.from({ length: 500 }, (_, i) => spool.append([message(i, payload)])));
    let stats = await spool.stats();
    assert.equal(stats.depthRecords, 500);
    assert.ok(stats.depthBytes > 500 * payload.length);
    assert.equal(stats.oldestUnwrittenAt, 1_700_000_000_000);

    await spool.commit(200);
    stats = await spool.stats();
    assert.equal(stats.checkpoint, 200);
    assert.equal(stats.depthRecords, 300);
    assert.equal((await spool.read(0, 1))[0].offset, 201);
    assert.equal(stats.oldestUnwrittenAt, 1_700_000_000_200);

    await spool.commit(100); // behind the checkpoint: nothing to do
    assert.equal(await spool.checkpoint(), 200);
    await assert.rejects(spool.commit(501), RangeError);

    await spool.commit(500);
    stats = await spool.stats();
    assert.deepEqual([stats.depthRecords, stats.depthBytes, stats.oldestUnwrittenAt], [0, 0, null]);
    assert.deepEqual(await spool.read(0, 10), []);
    const grown = statSync(join(dir, 'spool.db')).size;
    await spool.reclaimNow();
    assert.deepEqual(await spool.pragmaForTests('freelist_count'), [{ freelist_count: 0 }]);
    assert.ok(statSync(join(dir, 'spool.db')).size < grown / 4, 'file space was not reclaimed');
    assert.equal(statSync(join(dir, 'spool.db-wal')).size, 0, 'WAL was not truncated');
    await spool.close();

    const reopened = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    stats = await reopened.stats();
    assert.deepEqual([stats.depthRecords, stats.lastOffset, stats.checkpoint], [0, 500, 500]);
    assert.deepEqual(await reopened.append([message(1)]), { firstOffset: 501, lastOffset: 501 });
    await reopened.close();
  });

  it('refuses appends beyond maxBytes without writing, and accepts them again after commit', async () => {
    const dir = await tempDir();
    const payload = Buffer.alloc(1000, 1);
    const oneEntryBytes = 1000 + JSON.stringify(['m1']).length; // lower bound of one entry's size
    const spool = await SqliteSpool.open({ dir, maxBytes: 10 * oneEntryBytes + 5000 });
    // Fired together: the limit must hold for queued appends, not only committed ones.
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => spool.append([message(i, payload)])));
    const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
    const refused = outcomes.filter((o) => o.status === 'rejected');
    assert.ok(accepted >= 5 && accepted < 30, `accepted ${accepted}`);
    for (const o of refused) assert.ok((o as PromiseRejectedResult).reason instanceof SpoolFullError);
    const full = await spool.stats();
    assert.ok(full.depthBytes <= full.limitBytes);
    assert.equal(full.lastOffset, accepted, 'a refused append wrote something');
    assert.equal(full.depthRecords, accepted);

    const err = await spool.append([message(99, payload)]).catch((e: unknown) => e);
    assert.ok(err instanceof SpoolFullError);
    assert.equal(err.code, 'spool_full');
    assert.equal(err.limitBytes, full.limitBytes);

    await spool.commit(full.lastOffset);
    const after = await spool.append([message(100, payload)]);
    assert.equal(after.firstOffset, accepted + 1);
    await spool.close();
  });

  it('persists the inflight range across reopen', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 1024 * 1024 });
    assert.equal(await spool.inflight(), null);
    await spool.append(Array.from({ length: 20 }, (_, i) => message(i)));
    await spool.setInflight({ from: 5, to: 17 });
    assert.deepEqual(await spool.inflight(), { from: 5, to: 17 });
    await spool.close();
    const reopened = await SqliteSpool.open({ dir, maxBytes: 1024 * 1024 });
    assert.deepEqual(await reopened.inflight(), { from: 5, to: 17 });
    await reopened.setInflight(null);
    await reopened.close();
    const again = await SqliteSpool.open({ dir, maxBytes: 1024 * 1024 });
    assert.equal(await again.inflight(), null);
    await again.close();
  });

  it('rejects appends on a disk-full error and keeps working once space is back', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    await spool.append([message(1)]);
    // A real SQLITE_FULL: SQLite refuses to grow the file past max_page_count.
    const [{ page_count: pages }] = (await spool.pragmaForTests('page_count')) as { page_count: number }[];
    await spool.pragmaForTests(`max_page_count = ${pages + 2}`);
    const big = Buffer.alloc(200_000, 3);
    const failed = await Promise.allSettled([spool.append([message(2, big)]), spool.append([message(3, big)])]);
    for (const f of failed) {
      assert.equal(f.status, 'rejected');
      assert.match(String((f as PromiseRejectedResult).reason.message), /SQLITE_FULL/);
    }
    const stats = await spool.stats();
    assert.deepEqual([stats.depthRecords, stats.lastOffset], [1, 1]);

    await spool.pragmaForTests('max_page_count = 1073741823');
    const ok = await spool.append([message(4, big)]);
    assert.ok(ok.firstOffset > 1);
    const records = await spool.read(0, 10);
    assert.deepEqual(records.map((r) => withoutOffset(r)), [message(1), message(4, big)]);
    await spool.close();
  });

  it('rejects pending and future appends when the worker dies, and never resolves them', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    await spool.append([message(0)]);
    const pending = Array.from({ length: 200 }, (_, i) => spool.append([message(i + 1, Buffer.alloc(5000))]));
    // The worker stopping under us: reach in, as a crash would.
    const worker = (spool as unknown as { worker: Worker }).worker;
    await worker.terminate();
    const settled = await Promise.allSettled(pending);
    const rejectedOnes = settled.filter((s) => s.status === 'rejected') as PromiseRejectedResult[];
    assert.ok(rejectedOnes.length > 0);
    for (const r of rejectedOnes) assert.equal(r.reason.code, 'SPOOL_WORKER_DIED');
    await assert.rejects(spool.append([message(999)]), /spool worker .* stopped/);
    await assert.rejects(spool.read(0, 1), /stopped/);
    await spool.close();

    // Whatever was acknowledged before the death is on disk.
    const reopened = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    const acked = settled.filter((s) => s.status === 'fulfilled').length;
    assert.ok((await reopened.stats()).depthRecords >= 1 + acked);
    await reopened.close();
  });

  it('close() commits queued appends first and refuses later calls', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 1024 * 1024 });
    const queued = Array.from({ length: 50 }, (_, i) => spool.append([message(i)]));
    const closing = spool.close();
    await assert.rejects(spool.append([message(51)]), /closed/);
    const results = await Promise.all(queued);
    await closing;
    assert.equal(results[49].lastOffset, 50);
    await assert.rejects(spool.stats(), /closed/);
    const reopened = await SqliteSpool.open({ dir, maxBytes: 1024 * 1024 });
    assert.equal((await reopened.stats()).depthRecords, 50);
    await reopened.close();
  });

  it('refuses to open a corrupt file and tells the operator what to do', async () => {
    const dir = await tempDir();
    const spool = await SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => spool.append([message(i, Buffer.alloc(2000, i))])));
    await spool.close();
    const file = join(dir, 'spool.db');
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    const page = 4096;
    writeSync(fd, Buffer.alloc(page * 2, 0xa5), 0, page * 2, Math.floor(size / 2 / page) * page);
    closeSync(fd);
    await assert.rejects(SqliteSpool.open({ dir, maxBytes: 64 * 1024 * 1024 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SPOOL_CORRUPT');
      assert.ok(err.message.includes(file), 'message names the file');
      assert.match(err.message, /corrupt/);
      assert.match(err.message, /move .* aside/);
      assert.match(err.message, /may be lost/);
      return true;
    });
  });
});
