// Backpressure, not loss: when the spool is at its limit Sensorpipe stops acknowledging; once the
// writers catch up, the same client gets through, and everything acknowledged is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { rows, startServer, tempDir } from '../helpers/server.js';

test('a full spool refuses without acknowledging, counts it, and recovers when writers catch up', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { demo: true, spool: { maxBytes: 20_000 } });
  t.after(() => sp.stop());
  await sp.writer.stop({ drain: false }); // a sink that is not keeping up

  const url = `mqtt://127.0.0.1:${sp.mqtt!.port}`;
  const client = await connectAsync(url, { clientId: 'bp-1', reconnectPeriod: 0 });
  const acked: number[] = [];
  let refusedAt = -1;
  for (let i = 0; i < 1000; i++) {
    const payload = JSON.stringify({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), seq: i, readings: { temperature: 20 + (i % 10) } });
    const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
    const r = await Promise.race([client.publishAsync('sensors/bp-1/telemetry', payload, { qos: 1 }).then(() => 'acked' as const), closed]);
    if (r === 'closed') {
      refusedAt = i;
      break;
    }
    acked.push(i);
  }
  client.end(true);
  assert.ok(refusedAt > 0, 'the spool filled up and the broker stopped acknowledging');
  const stats = await sp.spool.stats();
  assert.ok(stats.depthBytes <= stats.limitBytes);

  // Writers catch up; the device reconnects and its message is now acknowledged.
  sp.writer.start();
  await sp.writer.drain();
  const again = await connectAsync(url, { clientId: 'bp-1', reconnectPeriod: 0 });
  const payload = JSON.stringify({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, refusedAt)).toISOString(), seq: refusedAt, readings: { temperature: 20 + (refusedAt % 10) } });
  await again.publishAsync('sensors/bp-1/telemetry', payload, { qos: 1 });
  await again.endAsync();
  await sp.writer.drain();

  const [{ n }] = await rows<{ n: number }>(sp, "select count(*)::int n from readings where sensor_id = 'bp-1'");
  assert.equal(n, acked.length + 1, 'every acknowledged message is stored, and the retried one too');
  // A full spool cannot durably record its own refusal: it is counted live (status, metrics).
  const live = (await sp.status()) as { live: { byReason: { outcome: string; reason: string; items: number }[] } };
  assert.equal(live.live.byReason.find((x) => x.reason === 'spool_full')?.items, 1, 'the refusal is counted');
});
