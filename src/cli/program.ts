import { Command } from 'commander';
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

/** The whole command tree (every command registers itself); main.ts parses argv with it, tests walk it. */
export function buildProgram(): Command {
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
  Settings come from the config file, then SENSORPIPE_* environment variables (e.g. SENSORPIPE_MQTT__PORT=1884), then flags.

Examples:
  sensorpipe start --demo                       # embedded broker, DuckDB, lake, demo fleet
  sensorpipe status                             # counts by outcome and reason, spool, writer
  sensorpipe query "select count(*) from readings"
  sensorpipe import data.csv --mapping examples/mappings/uci-air-quality.yaml
  sensorpipe <command> --help                   # every command has examples`,
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
  return program;
}
