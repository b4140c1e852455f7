// Fuzzing the MQTT front door (issue 7): random topics and payloads through a real embedded broker
// with QoS 1, and random bytes on raw sockets. Properties: the server survives; a publish to a
// telemetry topic is acknowledged (and then stored or quarantined, never lost), any other topic is
// refused without PUBACK; every outcome is counted with a catalogue reason; a fresh message still
// gets through afterwards. Seeded, so a failure replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectAsync, type MqttClient } from 'mqtt';
import { sensorFromTopic } from '../../src/core/ids.js';
import { QUARANTINE_REASONS, REJECT_REASONS } from '../../src/core/reasons.js';
import { mqttPayloads, topicIds } from '../fuzz/targets.js';
import { rawConnect, connectPacket } from '../helpers/raw-mqtt.js';
import { rows, startServer, tempDir } from '../helpers/server.js';

test('MQTT front door fuzz: random topics, payloads and packets; acked => counted, refused => no PUBACK, server survives', { timeout: 120_000 }, async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { demo: true });
  t.after(() => sp.stop());
  const url = `mqtt://127.0.0.1:${sp.mqtt!.port}`;
  let client: MqttClient | null = null;
  let n = 0;
  const fresh = async () => {
    client?.end(true);
    client = await connectAsync(url, { clientId: `fz-client-${n++}`, reconnectPeriod: 0 });
    client.on('error', () => {});
    return client;
  };
  let acked = 0;
  let refused = 0;
  const topics = fc.oneof(
    { weight: 3, arbitrary: topicIds.map((id) => `sensors/${id}/telemetry`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('sensors', '$SYS', 'devices', 'sensors/fz-1'), topicIds, fc.constantFrom('telemetry', 'status', '')).map((p) => p.join('/')) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[+#\u0000]/.test(s)) },
  );
  await fc.assert(
    fc.asyncProperty(topics, mqttPayloads, async (topic, payload) => {
      const c = client && client.connected ? client : await fresh();
      const closed = new Promise<'closed'>((resolve) => c.once('close', () => resolve('closed')));
      const r = await Promise.race([c.publishAsync(topic, payload, { qos: 1 }).then(() => 'puback' as const, () => 'closed' as const), closed]);
      const telemetry = sensorFromTopic(topic) !== null;
      assert.equal(r, telemetry ? 'puback' : 'closed', `topic ${JSON.stringify(topic)}`);
      if (r === 'puback') acked++;
      else refused++;
    }),
    { seed: 0x3107, numRuns: 250 },
  );
  (client as MqttClient | null)?.end(true);
  await sp.writer.drain();
  const rejectedBefore = await rows<{ n: number }>(sp, "select coalesce(sum(items), 0)::int n from ingest_counts where source = 'mqtt' and outcome = 'rejected'");
  assert.equal(rejectedBefore[0].n, refused, 'each refused publish is one rejected item');

  // Random bytes on raw sockets, with and without a CONNECT first: the broker drops them, nothing else.
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 2000 }), async (connectFirst, bytes) => {
      const c = await rawConnect(sp.mqtt!.port);
      if (connectFirst) c.socket.write(connectPacket(`fz-raw-${n++}`));
      c.socket.write(bytes);
      c.socket.end();
      await c.closed;
    }),
    { seed: 0x3108, numRuns: 100 },
  );

  await sp.writer.drain();
  // Everything counted (garbage that parses as a refused packet included) has a catalogue reason.
  const counts = await rows<{ outcome: string; reason: string; n: number }>(sp, "select outcome, reason, sum(items)::int n from ingest_counts where source = 'mqtt' group by all");
  for (const c of counts) {
    if (c.outcome === 'quarantined') assert.ok(c.reason in QUARANTINE_REASONS, c.reason);
    if (c.outcome === 'rejected') assert.ok(c.reason in REJECT_REASONS, c.reason);
  }
  const items = counts.filter((c) => c.outcome === 'accepted' || c.outcome === 'quarantined').reduce((s, c) => s + c.n, 0);
  assert.equal(sp.counters.messages, acked, 'each acknowledged publish reached the spool as a message');
  assert.ok(items >= acked, `every acknowledged message left at least one item (${items} items, ${acked} acked)`);
  t.diagnostic(`${acked} acknowledged, ${refused} refused, ${items} items stored or quarantined, 100 raw garbage connections`);

  // Still working.
  const last = await connectAsync(url, { clientId: 'fz-final', reconnectPeriod: 0 });
  await last.publishAsync('sensors/fz-final/telemetry', JSON.stringify({ ts: new Date().toISOString(), temperature: 20 }), { qos: 1 });
  await last.endAsync();
  await sp.writer.drain();
  assert.deepEqual(await rows(sp, "select value from readings where sensor_id = 'fz-final'"), [{ value: 20 }]);
});
