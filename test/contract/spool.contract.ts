// The contract every spool keeps (SQLite file, NATS JetStream): what `append` resolved is readable
// in offset order with every byte intact, survives a reopen until committed, and a full spool
// refuses with SpoolFullError instead of dropping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpoolFullError, type Spool, type SpoolEntry } from '../../src/core/types.js';

export interface SpoolImpl {
  name: string;
  /** Opens (or reopens: same `key`, same spool) a spool with this size limit. */
  open(key: string, maxBytes: number): Promise<Spool>;
  /** Removes what `open(key)` created. */
  destroy(key: string): Promise<void>;
  skip?: string | false;
}

function message(i: number, sensor = `s-${i % 7}`): SpoolEntry {
  return {
    kind: 'message',
    message: { source: 'mqtt', topic: `sensors/${sensor}/telemetry`, deviceId: i % 2 ? sensor : null, receivedAt: 1_700_000_000_000 + i, payload: Buffer.from(`{"ts":${i},"t":${i / 3}}\u00e9\u0000`) },
    readings: [{ sensorId: sensor, metric: 'temperature', ts: 1_700_000_000_000 + i * 1000, value: i / 3, seq: i }],
    quarantined: i % 5 === 0 ? [{ reason: 'out_of_range', detail: `value ${i} too high`, sensorId: sensor, metric: 'humidity', ts: 1_700_000_000_000 + i, payload: '{"humidity":1e9}' }] : [],
  };
}

const rejected: SpoolEntry = { kind: 'rejected', source: 'mqtt', topic: 'sensors/x/telemetry', deviceId: 'dev-1', receivedAt: 1_700_000_000_123, reason: 'not_authorized', detail: 'device "dev-1" does not own sensor "x"' };

export function spoolContract(impl: SpoolImpl): void {
  let n = 0;
  const key = () => `${impl.name.replace(/\W+/g, '_')}_${process.pid}_${Date.now()}_${n++}`;
  const opts = { skip: impl.skip ?? false, timeout: 60_000 };

  test(`${impl.name}: appended entries read back in offset order, byte for byte`, opts, async (t) => {
    const k = key();
    const spool = await impl.open(k, 64 * 1024 * 1024);
    t.after(async () => {
      await spool.close();
      await impl.destroy(k);
    });
    const entries = [...Array.from({ length: 20 }, (_, i) => message(i)), rejected];
    const offsets: number[] = [];
    for (const e of entries) offsets.push((await spool.append([e])).lastOffset);
    for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i] > offsets[i - 1], 'offsets strictly increase');
    const recs = await spool.read(0, 1000);
    assert.deepEqual(recs.map((r) => r.offset), offsets);
    assert.deepEqual(
      recs.map(({ offset: _offset, ...rest }) => rest),
      entries,
    );
    assert.deepEqual((await spool.read(offsets[9], 5)).map((r) => r.offset), offsets.slice(10, 15), 'read(after, max)');
    const stats = await spool.stats();
    assert.equal(stats.depthRecords, entries.length);
    assert.equal(stats.lastOffset, offsets.at(-1));
  });

  test(`${impl.name}: the checkpoint and the in-flight range survive a reopen; committed entries are not read again`, opts, async (t) => {
    const k = key();
    let spool = await impl.open(k, 64 * 1024 * 1024);
    t.after(async () => {
      await spool.close();
      await impl.destroy(k);
    });
    const { lastOffset } = await spool.append(Array.from({ length: 30 }, (_, i) => message(i)));
    const all = await spool.read(0, 100);
    assert.equal(all.length, 30);
    const cut = all[11].offset;
    await spool.setInflight({ from: all[12].offset, to: all[20].offset });
    await spool.commit(cut);
    await spool.close();
    spool = await impl.open(k, 64 * 1024 * 1024);
    assert.equal(await spool.checkpoint(), cut);
    assert.deepEqual(await spool.inflight(), { from: all[12].offset, to: all[20].offset });
    const rest = await spool.read(await spool.checkpoint(), 100);
    assert.deepEqual(rest.map((r) => r.offset), all.slice(12).map((r) => r.offset));
    assert.equal(rest.at(-1)!.offset, lastOffset);
    await spool.setInflight(null);
    assert.equal(await spool.inflight(), null);
    await spool.commit(lastOffset);
    assert.equal((await spool.stats()).depthRecords, 0);
    assert.deepEqual(await spool.read(lastOffset, 10), []);
  });

  test(`${impl.name}: 200 concurrent appends get distinct offsets and are all readable`, opts, async (t) => {
    const k = key();
    const spool = await impl.open(k, 64 * 1024 * 1024);
    t.after(async () => {
      await spool.close();
      await impl.destroy(k);
    });
    const res = await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append([message(i, `c-${i}`)])));
    assert.equal(new Set(res.map((r) => r.lastOffset)).size, 200);
    const recs = await spool.read(0, 1000);
    assert.equal(recs.length, 200);
    const seen = new Set(recs.map((r) => (r.kind === 'message' ? r.message.topic : '')));
    assert.equal(seen.size, 200, 'every append is there once');
  });

  test(`${impl.name}: at its size limit the spool refuses with SpoolFullError and takes entries again after a commit`, opts, async (t) => {
    const k = key();
    const spool = await impl.open(k, 64 * 1024);
    t.after(async () => {
      await spool.close();
      await impl.destroy(k);
    });
    let accepted = 0;
    let full: unknown = null;
    for (let i = 0; i < 2000 && !full; i++) {
      try {
        await spool.append([message(i)]);
        accepted++;
      } catch (err) {
        full = err;
      }
    }
    assert.ok(full instanceof SpoolFullError, `refused with SpoolFullError (${String(full)})`);
    assert.ok(accepted > 10, `took entries before it was full (${accepted})`);
    const recs = await spool.read(0, 5000);
    assert.equal(recs.length, accepted, 'everything acknowledged is readable, nothing more');
    await spool.commit(recs.at(-1)!.offset);
    await spool.append([message(99_999)]);
    assert.equal((await spool.read(recs.at(-1)!.offset, 10)).length, 1);
  });
}
