import type { Command } from 'commander';
import { simulate } from '../../sim/simulate.js';
import { CliError, EXIT } from '../output.js';

interface SimFlags {
  mqtt: string;
  sensors: string;
  rate: string;
  count: string;
  badRatio: string;
  username?: string;
  password?: string;
  demo?: boolean;
  ledger?: string;
  seed?: string;
  prefix: string;
  json?: boolean;
}

function num(name: string, v: string, min: number, max = Infinity): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`${name} must be a number between ${min} and ${max}, got "${v}"`, EXIT.usage);
  return n;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('publish realistic sensor readings (and, with --bad-ratio, invalid ones of every kind) over MQTT QoS 1')
    .option('--mqtt <url>', 'broker URL', 'mqtt://localhost:1883')
    .option('--sensors <n>', 'number of sensors, each its own MQTT client', '10')
    .option('--rate <r>', 'messages per second across the fleet (0 = as fast as acknowledgements allow)', '100')
    .option('--count <c>', 'total messages', '1000')
    .option('--bad-ratio <p>', 'share of invalid messages, 0..1', '0')
    .option('--username <u>', 'MQTT username (default: each sensor id)')
    .option('--password <s>', 'device secret shared by every simulated sensor')
    .option('--demo', 'connect anonymously (the server runs with --demo)')
    .option('--ledger <file>', 'write one JSON line per acknowledged message (sensor, seq, ts, expected outcome)')
    .option('--seed <seed>', 'same seed, same readings')
    .option('--prefix <p>', 'sensor id prefix', 'sim-')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  sensorpipe simulate --demo --sensors 10 --rate 200 --count 10000 --bad-ratio 0.05 --ledger ledger.jsonl\n  sensorpipe simulate --mqtt mqtt://broker:1883 --sensors 1 --prefix boiler- --password "$SECRET" --count 100',
    )
    .action(async (f: SimFlags) => {
      if (!f.demo && !f.password) {
        throw new CliError('give --password <device secret> (from `sensorpipe devices add`), or --demo for a server started with --demo', EXIT.usage);
      }
      const tty = process.stderr.isTTY;
      const count = num('--count', f.count, 1);
      const report = await simulate(
        {
          url: f.mqtt,
          sensors: num('--sensors', f.sensors, 1, 100_000),
          rate: num('--rate', f.rate, 0),
          count,
          badRatio: num('--bad-ratio', f.badRatio, 0, 1),
          username: f.username,
          password: f.password,
          demo: f.demo,
          ledger: f.ledger,
          seed: f.seed,
          sensorPrefix: f.prefix,
        },
        {
          onProgress: (p) => {
            if (!tty) return;
            const pct = ((100 * (p.acked + p.failed)) / count).toFixed(0);
            process.stderr.write(`\r  ${bar(p.acked + p.failed, count)} ${pct}%  sent ${p.sent}  acked ${p.acked}  failed ${p.failed}   `);
          },
        },
      ).catch((err: Error) => {
        throw new CliError(err.message, EXIT.unavailable);
      });
      if (tty) process.stderr.write('\n');
      if (f.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        process.stdout.write(
          `sent ${report.sent}, acknowledged ${report.acked}, failed ${report.failed} in ${(report.durationMs / 1000).toFixed(1)} s (${report.rate.toFixed(0)} acks/s)\n` +
            `expected outcomes: ${Object.entries(report.byExpected).map(([k, v]) => `${k} ${v}`).join(', ')}\n` +
            (report.ledger ? `ledger: ${report.ledger}\n` : ''),
        );
      }
      if (report.failed > 0) throw new CliError(`${report.failed} message(s) were not acknowledged`, EXIT.failure);
    });
}

function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((width * done) / Math.max(1, total));
  return '[' + '#'.repeat(filled) + '-'.repeat(width - filled) + ']';
}
