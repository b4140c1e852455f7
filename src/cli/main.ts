import { Command, CommanderError } from 'commander';
import { registerStart } from './commands/start.js';
import { registerConfig } from './commands/config-check.js';
import { registerDevices } from './commands/devices.js';
import { registerQuery } from './commands/query.js';
import { registerSimulate } from './commands/simulate.js';
import { registerJobs } from './commands/jobs.js';
import { registerDb } from './commands/db.js';
import { registerReport } from './commands/report.js';
import { registerImport } from './commands/import.js';
import { registerExport } from './commands/export.js';
import { CliError, EXIT } from './output.js';

const program = new Command('sensorpipe')
  .description('Sensorpipe: IoT sensor data pipeline (MQTT/HTTP in, durable ack, Parquet lake, SQL warehouse)')
  .option('-c, --config <file>', 'YAML config file (default: ./sensorpipe.yaml if present)')
  .option('-d, --data-dir <dir>', 'data directory (default ./data)')
  .showHelpAfterError('(add --help for usage and examples)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 failure, 2 usage error, 3 invalid configuration, 4 server or port unavailable.
Settings come from the config file, then SENSORPIPE_* environment variables (e.g. SENSORPIPE_MQTT__PORT=1884), then flags.`,
  );
program.configureOutput({ outputError: (str, write) => write(str) });

registerStart(program);
registerConfig(program);
registerDevices(program);
registerQuery(program);
registerSimulate(program);
registerJobs(program);
registerDb(program);
registerReport(program);
registerImport(program);
registerExport(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  if (err instanceof CliError) {
    process.stderr.write(`sensorpipe: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`sensorpipe: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.failure);
}
