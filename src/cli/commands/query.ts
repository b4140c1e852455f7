import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { QueryResult } from '../../core/sinks.js';
import { QueryError } from '../../core/sinks.js';
import { openWarehouse } from '../../sinks/warehouse/open-warehouse.js';
import { silentLogger } from '../../core/types.js';
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
    .description('run read-only SQL: on the running server, or, when no server runs, on the DuckDB file under --data-dir or the PostgreSQL warehouse')
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
        // PostgreSQL is queried directly; the DuckDB file only when it exists.
        if (config.warehouse.kind === 'duckdb' && !existsSync(path)) {
          throw new CliError(`no Sensorpipe server runs on ${dataPaths(config.dataDir).root} and there is no warehouse file at ${path}. Start one with \`npm start\` (or pass --data-dir / --url).`, EXIT.unavailable);
        }
        const wh = await openWarehouse({ warehouse: config.warehouse, duckdbPath: path, metricDefaults: config.registry.metricDefaults, logger: silentLogger, readOnly: true });
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
    .description('accounting (received = accepted + quarantined + rejected by source and reason, any time range), spool depth and oldest unwritten age, writer state')
    .option('--url <url>', 'server URL (default: the server running on --data-dir)')
    .option('--token <token>', 'API token')
    .option('--from <time>', 'accounting from this time (ISO-8601 or epoch ms, by arrival; counted per hour)')
    .option('--to <time>', 'accounting up to this time (exclusive; default: now)')
    .option('--json', 'print the whole status as JSON, with the accounting report under "identity"')
    .addHelpText('after', '\nExamples:\n  sensorpipe status\n  sensorpipe status --from 2026-12-01T00:00Z --to 2026-12-02T00:00Z\n  sensorpipe status --json')
    .action(async (flags: RemoteFlags & { from?: string; to?: string }) => {
      const config = configFrom(program.opts<CommonFlags>());
      const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
      if (!target) throw new CliError(`no Sensorpipe server runs on ${dataPaths(config.dataDir).root}; start one with \`npm start\` or pass --url`, EXIT.unavailable);
      const range = new URLSearchParams();
      if (flags.from) range.set('from', flags.from);
      if (flags.to) range.set('to', flags.to);
      const [s, identity] = await Promise.all([
        callServer<StatusShape>(target, 'GET', '/v1/status'),
        callServer<AccountingShape>(target, 'GET', `/v1/accounting${range.size ? `?${range}` : ''}`),
      ]);
      if (flags.json) {
        process.stdout.write(JSON.stringify({ ...s, identity }, null, 2) + '\n');
        return;
      }
      process.stdout.write(formatStatus(s, identity));
      const rows = identity.byReason;
      if (rows.length) printRows(rows as unknown as Record<string, unknown>[], ['source', 'outcome', 'reason', 'items'], false);
    });
}

/** The text `sensorpipe status` prints above the per-reason table. */
export function formatStatus(s: StatusShape, a: AccountingShape): string {
  const age = s.oldestUnwrittenAgeMs === null ? '-' : `${(s.oldestUnwrittenAgeMs / 1000).toFixed(1)} s`;
  const line = (label: string, t: AccountingShape['totals']) =>
    `${label}received ${t.received} = accepted ${t.accepted} + quarantined ${t.quarantined} + rejected ${t.rejected}   (duplicates among accepted: ${t.duplicates})\n`;
  const range = a.from || a.to ? `accounting ${a.from ?? 'start'} .. ${a.to ?? 'now'} (whole hours)\n` : '';
  const perSource = a.bySource.length > 1 ? a.bySource.map((b) => line(`  ${b.source}: `, b)).join('') : '';
  const balance = a.balanced ? '' : `NOT BALANCED: ${a.problems.join('; ')}\n`;
  const unrecorded = a.notYetCounted?.refusalsNotRecorded.reduce((n, r) => n + r.items, 0) ?? 0;
  const waiting = a.notYetCounted?.spoolRecords ?? 0;
  const pending = unrecorded + waiting > 0 ? `not counted yet: ${waiting} spool records waiting to be written; ${unrecorded} refusals the spool could not record\n` : '';
  return (
    range +
    line('', a.totals) +
    perSource +
    balance +
    pending +
    `spool: ${s.spool.depthRecords} records / ${s.spool.depthBytes} bytes waiting (limit ${s.spool.limitBytes}), oldest unwritten ${age}\n` +
    `writer: ${s.writer.batches} batches, ${s.writer.records} records${s.writer.lastError ? `, FAILING: ${s.writer.lastError}` : ''}\n\n`
  );
}

interface AccountingTotalsShape {
  received: number;
  accepted: number;
  quarantined: number;
  rejected: number;
  duplicates: number;
}

/** GET /v1/accounting (src/api/routes/monitoring.ts). */
interface AccountingShape {
  from: string | null;
  to: string | null;
  totals: AccountingTotalsShape;
  balanced: boolean;
  problems: string[];
  bySource: ({ source: string } & AccountingTotalsShape)[];
  byReason: { source: string; outcome: string; reason: string; items: number }[];
  notYetCounted?: { spoolRecords: number; refusalsNotRecorded: { source: string; reason: string; items: number }[] };
}

interface StatusShape {
  accounting: { received: number; accepted: number; quarantined: number; rejected: number; duplicates: number; byReason: { source: string; outcome: string; reason: string; items: number }[] };
  spool: { depthRecords: number; depthBytes: number; limitBytes: number };
  oldestUnwrittenAgeMs: number | null;
  writer: { batches: number; records: number; lastError: string | null };
}
