import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { CliError, EXIT } from './output.js';

const program = buildProgram();

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
