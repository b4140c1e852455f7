// The MQTT source contract against a subscriber on an external broker: a private Mosquitto on an
// ephemeral port; devices publish to it, Sensorpipe takes the messages in through a shared
// subscription over several connections.
import { mqttSourceContract } from './mqtt-source.contract.js';
import { startServer } from '../helpers/server.js';
import { mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js';

const missing = mosquittoMissing();
if (missing && process.env.CI === 'true') throw new Error(`CI=true and the external MQTT tests cannot run: ${missing}`);
if (missing) console.warn(`\n*** SKIPPED: external MQTT source contract: ${missing} ***\n`);

mqttSourceContract(
  {
    name: 'external broker (Mosquitto, shared subscription, 4 connections)',
    async start(dir) {
      const broker = await startMosquitto(dir);
      const sp = await startServer(dir, {
        mqtt: { enabled: false },
        http: { enabled: false },
        mqttExternal: { enabled: true, url: broker.url, clientId: 'contract', connections: 4 },
      });
      return {
        sp,
        publishUrl: broker.url,
        source: 'mqtt-external',
        ordered: false,
        stop: async () => {
          await sp.stop();
          await broker.stop();
        },
      };
    },
  },
  { skip: missing ?? false },
);
