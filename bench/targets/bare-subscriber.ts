/**
 * Ceiling of the external-broker path: one MQTT.js subscriber per connection in a shared QoS 1
 * subscription that only parses each message and notes (sensor, seq); MQTT.js sends the PUBACK
 * when the handler returns. Run by bench/run.ts as a child (IPC) with argv: <broker url> <connections>.
 */
import { connectAsync } from 'mqtt';
import { SeqTracker } from '../lib/seq-tracker.js';

const [url, connections] = [process.argv[2], Number(process.argv[3] ?? 1)];
const seen = new SeqTracker();
const clients = await Promise.all(Array.from({ length: connections }, (_, k) => connectAsync(url, { clientId: `bench-bare-${k}`, clean: true, reconnectPeriod: 0 })));
for (const c of clients) {
  c.on('message', (topic, payload) => {
    try {
      const body = JSON.parse(payload.toString()) as { seq?: number };
      seen.add(topic.split('/')[1], Number(body.seq));
    } catch {
      // The workload sends only valid JSON.
    }
  });
  await c.subscribeAsync(connections > 1 ? '$share/bench/sensors/+/telemetry' : 'sensors/+/telemetry', { qos: 1 });
}
process.on('message', (m) => {
  if (m === 'count') process.send!({ type: 'count', count: seen.count() });
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
