import { connectAsync, type MqttClient } from 'mqtt';
import type { Logger } from '../core/types.js';
import { Fleet, isoTs, sensorpipeJson } from '../sim/fleet.js';

/**
 * The demo fleet `npm start` runs: five anonymous sensors publishing one reading a second each
 * through the real broker (QoS 1), with the current time, so the warehouse visibly fills.
 */
export function startDemoFleet(mqttPort: number, logger: Logger, sensors = 5): { stop(): Promise<void> } {
  const log = logger.child({ component: 'demo-fleet' });
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const clients: MqttClient[] = [];
  const ready = (async () => {
    const fleet = new Fleet({ sensors, sensorPrefix: 'demo-', seed: Date.now(), startTs: Date.now() });
    for (const id of fleet.sensorIds) {
      clients.push(await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: id, reconnectPeriod: 1000 }));
    }
    const tick = () => {
      if (stopped) return;
      const now = Date.now();
      fleet.sensorIds.forEach((_, i) => {
        const r = fleet.next(i);
        const payload = sensorpipeJson({ ts: isoTs(now), seq: r.seq, readings: r.readings });
        clients[i].publish(fleet.topic(i), payload, { qos: 1 }, (err) => {
          if (err && !stopped) log.warn({ err: err.message }, 'demo fleet publish failed');
        });
      });
      timer = setTimeout(tick, 1000);
    };
    tick();
  })().catch((err: Error) => log.error({ err }, 'demo fleet could not start; the server itself is unaffected'));
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ready;
      await Promise.all(clients.map((c) => c.endAsync()));
    },
  };
}
