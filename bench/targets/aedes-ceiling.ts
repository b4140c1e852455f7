/**
 * Ceiling of the embedded path: an Aedes broker whose authorizePublish hook only parses the JSON
 * and notes (sensor, seq). No spool, no validation, no sinks: what Aedes itself costs.
 * Run by bench/run.ts as a child (IPC): sends {type:'ready', port}; answers 'count' with {type:'count', count}.
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { Aedes } from 'aedes';
import { SeqTracker } from '../lib/seq-tracker.js';

const seen = new SeqTracker();
const broker = await Aedes.createBroker({
  authorizePublish(_client, packet, done) {
    try {
      const body = JSON.parse(packet.payload.toString()) as { seq?: number };
      seen.add(packet.topic.split('/')[1], Number(body.seq));
    } catch {
      // A ceiling takes everything; the workload sends only valid JSON.
    }
    done(null);
  },
});
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
process.on('message', (m) => {
  if (m === 'count') process.send!({ type: 'count', count: seen.count() });
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', port: (server.address() as { port: number }).port });
