/**
 * `sensorpipe db …`: administration of the PostgreSQL warehouse (docs/postgres.md).
 *   sensorpipe db grant-analyst <role> [--password-stdin] [--statement-timeout <ms>] [--connection-limit <n>]
 */
import type { Command } from 'commander';
import pg from 'pg';
import { checkRoleName, grantAnalyst } from '../../sinks/warehouse/postgres-roles.js';
import { describeConnection, poolConfig } from '../../sinks/warehouse/postgres-warehouse.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT } from '../output.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a positive integer, got "${v}"`, EXIT.usage);
  return n;
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('administer the PostgreSQL warehouse (warehouse.kind: postgres)');
  db.command('grant-analyst <role>')
    .description('create or update a read-only PostgreSQL login for BI tools: SELECT on the Sensorpipe schema only, no CREATE anywhere, a statement timeout')
    .option('--password-stdin', 'read the role\'s password from standard input (otherwise an existing password is kept, a new role has none)')
    .option('--statement-timeout <ms>', 'statement_timeout of the role, in milliseconds', '30000')
    .option('--connection-limit <n>', 'most concurrent connections of the role', '10')
    .addHelpText(
      'after',
      '\nRun it with the credentials Sensorpipe itself uses (warehouse.postgres); that user must own the database or be a superuser.\n' +
        'Examples:\n  printf "%s" "$ANALYST_PASSWORD" | sensorpipe db grant-analyst powerbi --password-stdin\n' +
        '  sensorpipe db grant-analyst grafana --password-stdin --statement-timeout 15000 --connection-limit 5 < grafana.pw',
    )
    .action(async (role: string, flags: { passwordStdin?: boolean; statementTimeout: string; connectionLimit: string }) => {
      const config = configFrom(program.opts<CommonFlags>());
      if (config.warehouse.kind !== 'postgres' || !config.warehouse.postgres) {
        throw new CliError('the warehouse is DuckDB (warehouse.kind: duckdb): analyst roles exist only for PostgreSQL; see docs/postgres.md', EXIT.config);
      }
      const problem = checkRoleName(role);
      if (problem) throw new CliError(problem, EXIT.usage);
      const statementTimeoutMs = positiveInt('--statement-timeout', flags.statementTimeout);
      const connectionLimit = positiveInt('--connection-limit', flags.connectionLimit);
      let password: string | null = null;
      if (flags.passwordStdin) {
        password = await readStdin();
        if (password === '') throw new CliError('--password-stdin: standard input held no password', EXIT.usage);
      }
      const { schema, poolSize: _poolSize, ...connection } = config.warehouse.postgres;
      const where = describeConnection(connection);
      const c = new pg.Client(poolConfig(connection, schema, 1));
      try {
        await c.connect();
      } catch (err) {
        throw new CliError(`cannot connect to the PostgreSQL warehouse at ${where}: ${(err as Error).message}`, EXIT.unavailable);
      }
      try {
        const r = await grantAnalyst(c, { role, password, schema, statementTimeoutMs, connectionLimit });
        process.stdout.write(
          `${r.created ? 'created' : 'updated'} read-only role ${role} on ${where} (database ${r.database}): SELECT on ${r.tables} tables and views of schema ${schema} and on future ones; ` +
            `no CREATE; statement_timeout ${statementTimeoutMs} ms; at most ${connectionLimit} connections${password === null ? '; no password was set' : ''}\n`,
        );
      } catch (err) {
        throw new CliError(`grant-analyst ${role} failed on ${where}: ${(err as Error).message}`, EXIT.failure);
      } finally {
        await c.end().catch(() => undefined);
      }
    });
}
