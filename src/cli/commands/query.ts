import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { QueryResult } from '../../core/sinks.js';
import { QueryError } from '../../core/sinks.js';
import { DuckDbWarehouse } from '../../sinks/warehouse/duckdb-warehouse.js';
import { dataPaths } from '../../runtime/paths.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT, printRows } from '../output.js';
import { callServer, findServer } from '../server-client.js';

interface RemoteFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

export function registerQuery(program: Command): void {
  program
    .command('query <sql>')
    .description('run read-only SQL: on the running server, or on the DuckDB file under --data-dir when no server runs')
    .option('--url <url>', 'server URL (default: the server running on --data-dir)')
    .option('--token <token>', 'API token (default: $SENSORPIPE_TOKEN, or the local admin token of a server on this data dir)')
    .option('--json', 'one JSON object per line')
    .addHelpText(
      'after',
      '\nExamples:\n  sensorpipe query "select count(*) from readings"\n  sensorpipe query --json "select * from quarantine order by received_at desc limit 5"\n  sensorpipe query --url http://sensorpipe:8080 --token $TOKEN "select * from sensors"',
    )
    .action(async (sql: string, flags: RemoteFlags) => {
      const config = configFrom(program.opts<CommonFlags>());
      const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
      let result: QueryResult;
      if (target) {
        result = await callServer<QueryResult>(target, 'POST', '/v1/sql', { sql });
      } else {
        const path = dataPaths(config.dataDir).warehouse;
        if (!existsSync(path)) {
          throw new CliError(`no Sensorpipe server runs on ${dataPaths(config.dataDir).root} and there is no warehouse file at ${path}. Start one with \`npm start\` (or pass --data-dir / --url).`, EXIT.unavailable);
        }
        const wh = await DuckDbWarehouse.open({ path, metricDefaults: config.registry.metricDefaults, readOnly: true });
        try {
          result = await wh.query(sql, config.sql);
        } catch (err) {
          if (err instanceof QueryError) throw new CliError(err.message, EXIT.usage);
          throw err;
        } finally {
          await wh.close();
        }
      }
      printRows(result.rows, result.columns, !!flags.json);
      if (result.truncated) process.stderr.write(`(output capped at ${result.rows.length} rows: add a LIMIT or aggregate)\n`);
    });

  program
    .command('status')
    .description('counts by outcome and reason, spool depth and oldest unwritten age, writer state')
    .option('--url <url>', 'server URL (default: the server running on --data-dir)')
    .option('--token <token>', 'API token')
    .option('--json', 'print the whole status as JSON')
    .action(async (flags: RemoteFlags) => {
      const config = configFrom(program.opts<CommonFlags>());
      const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
      if (!target) throw new CliError(`no Sensorpipe server runs on ${dataPaths(config.dataDir).root}; start one with \`npm start\` or pass --url`, EXIT.unavailable);
      const s = await callServer<StatusShape>(target, 'GET', '/v1/status');
      if (flags.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        return;
      }
      const a = s.accounting;
      const age = s.oldestUnwrittenAgeMs === null ? '-' : `${(s.oldestUnwrittenAgeMs / 1000).toFixed(1)} s`;
      process.stdout.write(
        `received ${a.received} = accepted ${a.accepted} + quarantined ${a.quarantined} + rejected ${a.rejected}   (duplicates among accepted: ${a.duplicates})\n` +
          `spool: ${s.spool.depthRecords} records / ${s.spool.depthBytes} bytes waiting (limit ${s.spool.limitBytes}), oldest unwritten ${age}\n` +
          `writer: ${s.writer.batches} batches, ${s.writer.records} records${s.writer.lastError ? `, FAILING: ${s.writer.lastError}` : ''}\n\n`,
      );
      const rows = a.byReason.filter((r) => r.outcome !== 'accepted' && r.outcome !== 'duplicate');
      if (rows.length) printRows(rows as unknown as Record<string, unknown>[], ['source', 'outcome', 'reason', 'items'], false);
    });
}

interface StatusShape {
  accounting: { received: number; accepted: number; quarantined: number; rejected: number; duplicates: number; byReason: { source: string; outcome: string; reason: string; items: number }[] };
  spool: { depthRecords: number; depthBytes: number; limitBytes: number };
  oldestUnwrittenAgeMs: number | null;
  writer: { batches: number; records: number; lastError: string | null };
}
