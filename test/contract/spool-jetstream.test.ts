// The spool contract against NATS JetStream (127.0.0.1:4222, or SENSORPIPE_TEST_NATS); each test
// uses its own stream and state bucket and deletes them.
import { connect } from 'nats';
import { JetStreamSpool } from '../../src/pipeline/spool/jetstream-spool.js';
import { spoolContract } from './spool.contract.js';

const servers = [process.env.SENSORPIPE_TEST_NATS ?? 'nats://127.0.0.1:4222'];

async function unreachable(): Promise<string | null> {
  try {
    const nc = await connect({ servers, timeout: 2000 });
    const jsm = await nc.jetstreamManager().catch((err: Error) => err);
    await nc.close();
    return jsm instanceof Error ? `NATS at ${servers[0]} has no JetStream (${jsm.message}); start nats-server with -js` : null;
  } catch (err) {
    return `NATS at ${servers[0]} is unreachable (${(err as Error).message}); start nats-server -js`;
  }
}

const why = await unreachable();
if (why && process.env.CI === 'true') throw new Error(`CI=true and the JetStream spool tests cannot run: ${why}`);
if (why) console.warn(`\n*** SKIPPED: JetStream spool contract: ${why} ***\n`);

const open = (key: string, maxBytes: number) => JetStreamSpool.open({ servers, stream: `t_${key}`, maxBytes, maxAgeS: 0, duplicateWindowS: 120, replicas: 1 });

spoolContract({
  name: 'JetStream spool',
  open,
  destroy: async (key) => {
    const s = await open(key, 1024 * 1024);
    await s.destroy();
    await s.close();
  },
  skip: why ?? false,
});
