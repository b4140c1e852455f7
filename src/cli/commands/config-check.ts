import type { Command } from 'commander';
import { checkConfig } from '../../config/load.js';
import { CliError, EXIT } from '../output.js';

const SECRET_KEYS = new Set(['password', 'pass', 'token', 'accountKey', 'sasToken', 'connectionString']);

/**
 * Printed configuration never shows secrets: passwords, tokens and keys become ***, so does the
 * password part of any URL, and the path of http(s) notifier URLs (a Slack or Teams webhook URL is
 * itself the credential: only its host is shown).
 */
export function hideSecrets(key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (SECRET_KEYS.has(key)) return '***';
  if (key === 'url' && /^https?:\/\//i.test(value)) return value.replace(/^(https?:\/\/[^/?#]+)[/?#].*$/i, '$1/***');
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:[^/@]*@/i.test(value)) return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
  return value;
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check [file]')
    .description('validate a config file (plus SENSORPIPE_* environment variables) and print every problem at once')
    .option('--print', 'print the effective configuration as JSON when it is valid')
    .addHelpText('after', '\nExamples:\n  sensorpipe config check sensorpipe.yaml\n  SENSORPIPE_MQTT__PORT=1884 sensorpipe config check --print')
    .action((file: string | undefined, flags: { print?: boolean }) => {
      const r = checkConfig({ file: file ?? program.opts<{ config?: string }>().config });
      if (!r.config) {
        process.stderr.write(`${r.source}: ${r.problems.length} problem(s)\n`);
        for (const p of r.problems) process.stderr.write(`  ${p.path || '(root)'}: ${p.message}\n`);
        throw new CliError('configuration is not valid', EXIT.config);
      }
      process.stdout.write(`${r.source}: configuration is valid\n`);
      if (flags.print) process.stdout.write(JSON.stringify(r.config, hideSecrets, 2) + '\n');
    });
}
