// The MQTT source contract against the embedded Aedes broker (demo mode: anonymous devices).
import { mqttSourceContract } from './mqtt-source.contract.js';
import { startServer } from '../helpers/server.js';

mqttSourceContract({
  name: 'embedded broker',
  async start(dir) {
    const sp = await startServer(dir, { demo: true, http: { enabled: false } });
    return { sp, publishUrl: `mqtt://127.0.0.1:${sp.mqtt!.port}`, source: 'mqtt', ordered: true, stop: () => sp.stop() };
  },
});
