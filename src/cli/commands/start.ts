import type { Command } from 'commander';
import { Sensorpipe } from '../../runtime/sensorpipe.js';
import { createLogger } from '../../runtime/logger.js';
import { PortInUseError } from '../../sources/listen.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT } from '../output.js';
import { startDemoFleet } from '../demo-fleet.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start Sensorpipe: embedded MQTT broker, durable spool, DuckDB warehouse, Parquet lake, HTTP API')
    .option('--mqtt-port <port>', 'MQTT port (default 1883; 0 picks a free one)')
    .option('--http-port <port>', 'HTTP port (default 8080; 0 picks a free one)')
    .option('--demo', 'allow anonymous devices and run a small demo fleet (INSECURE: for trying it out)')
    .option('--no-fleet', 'with --demo: do not start the in-process demo fleet')
    .addHelpText('after', '\nExamples:\n  sensorpipe start --data-dir /var/lib/sensorpipe\n  sensorpipe start --demo --mqtt-port 1884 --http-port 8081')
    .action(async (flags: CommonFlags & { mqttPort?: string; httpPort?: string; demo?: boolean; fleet: boolean }) => {
      const config = configFrom({ ...program.opts<CommonFlags>(), ...flags });
      const logger = createLogger(config.logLevel);
      let sp: Sensorpipe;
      try {
        sp = await Sensorpipe.start(config, { logger, fallbackOnBusyPort: config.demo });
      } catch (err) {
        if (err instanceof PortInUseError) throw new CliError(err.message, EXIT.unavailable);
        throw err;
      }
      const fleet = config.demo && flags.fleet && sp.mqtt ? startDemoFleet(sp.mqtt.port, logger) : null;
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`\n${signal}: stopping; writing what is still in the spool…\n`);
        await fleet?.stop();
        await sp.stop();
        process.stdout.write('stopped cleanly.\n');
        process.exit(0);
      };
      // Before the banner: whoever reads it may signal at once, and a signal without a listener kills outright.
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      printBanner(sp, fleet !== null);
    });
}

function printBanner(sp: Sensorpipe, fleet: boolean): void {
  const c = sp.config;
  const web = c.http.tls ? 'https' : 'http';
  const lines = [
    '',
    'Sensorpipe is running.',
    `  data directory  ${sp.paths.root}`,
    sp.mqtt ? `  MQTT            ${c.mqtt.tls ? 'mqtts' : 'mqtt'}://localhost:${sp.mqtt.port}   (devices publish to sensors/<sensor_id>/telemetry, QoS 1)` : '  MQTT            disabled',
    sp.httpPort ? `  HTTP            ${web}://localhost:${sp.httpPort}/healthz` : '  HTTP            disabled',
    sp.httpPort ? `  dashboard       ${web}://localhost:${sp.httpPort}/   (asks for a token once; see docs/dashboard.md)` : '',
  ];
  if (c.demo) {
    lines.push(
      '',
      '  !! DEMO MODE: anonymous devices may publish for any sensor. This is insecure;',
      '  !! run without --demo and add devices with `sensorpipe devices add <id>` for real use.',
      `  demo admin token  ${sp.localToken}`,
      sp.httpPort ? `  dashboard, signed in:  ${web}://localhost:${sp.httpPort}/#token=${sp.localToken}` : '',
      fleet ? '  a demo fleet of 5 sensors (demo-0001 … demo-0005) is publishing through the broker.' : '',
    );
  }
  lines.push(
    '',
    'Try, in another terminal:',
    '  npx sensorpipe query "select count(*) from readings"',
    '  npx sensorpipe query "select sensor_id, metric, count(*), avg(value) from readings group by all order by all"',
    '  npx sensorpipe status',
    '',
    'Ctrl-C stops it (what is in the spool is written first).',
    '',
  );
  process.stdout.write(lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n') + '\n');
}
