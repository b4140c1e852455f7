import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { QueryResult } from '../../core/sinks.js';
import { exportReadings, parseTimeFlag, type ExportResult } from '../../export/readings-export.js';
import { checkIds, type ReadingsFilter, type SqlRunner } from '../../export/readings-pages.js';
import type { ExportFormat } from '../../export/table-file.js';
import { DuckDbWarehouse } from '../../sinks/warehouse/duckdb-warehouse.js';
import { dataPaths } from '../../runtime/paths.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT } from '../output.js';
import { callServer, findServer } from '../server-client.js';

interface ReadingsFlags {
  from: string;
  to: string;
  sensors?: string;
  metrics?: string;
  format?: string;
  out: string;
  url?: string;
  token?: string;
  json?: boolean;
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : []);

/**
 * A read-only SQL runner: the running server's POST /v1/sql, else the DuckDB file opened
 * read-only. `close` releases the file.
 */
export async function sqlRunner(program: Command, flags: { url?: string; token?: string }): Promise<{ run: SqlRunner; close(): Promise<void>; where: string }> {
  const config = configFrom(program.opts<CommonFlags>());
  const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
  if (target) {
    return { run: (sql) => callServer<QueryResult>(target, 'POST', '/v1/sql', { sql }), close: async () => {}, where: target.url };
  }
  const path = dataPaths(config.dataDir).warehouse;
  if (!existsSync(path)) {
    throw new CliError(`no Sensorpipe server runs on ${dataPaths(config.dataDir).root} and there is no warehouse file at ${path}; pass --data-dir or --url`, EXIT.unavailable);
  }
  const wh = await DuckDbWarehouse.open({ path, metricDefaults: config.registry.metricDefaults, readOnly: true });
  return { run: (sql) => wh.query(sql, { maxRows: 50_000, timeoutMs: 600_000 }), close: () => wh.close(), where: path };
}

export function formatFlag(v: string | undefined, out: string): ExportFormat {
  const f = v ?? (out.toLowerCase().endsWith('.csv') ? 'csv' : 'parquet');
  if (f !== 'parquet' && f !== 'csv') throw new CliError(`--format must be parquet or csv, got "${f}"`, EXIT.usage);
  return f;
}

export function rangeFlags(flags: { from: string; to: string }): { from: number; to: number } {
  try {
    const from = parseTimeFlag('--from', flags.from);
    const to = parseTimeFlag('--to', flags.to);
    if (!(from < to)) throw new Error(`--from (${new Date(from).toISOString()}) must be before --to (${new Date(to).toISOString()})`);
    return { from, to };
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

export function registerExport(program: Command): void {
  const exp = program.command('export').description('write readings or feature datasets to Parquet or CSV files (docs/export.md)');

  exp
    .command('readings')
    .description('the readings of a time range (one row per sensor, metric and time) as Parquet or CSV')
    .requiredOption('--from <time>', 'start, inclusive: ISO-8601 (UTC when no zone) or epoch ms')
    .requiredOption('--to <time>', 'end, exclusive')
    .option('--sensors <ids>', 'comma-separated sensor ids (default: every sensor)')
    .option('--metrics <names>', 'comma-separated metrics (default: every metric)')
    .option('--format <parquet|csv>', 'output format (default: from --out, else parquet)')
    .requiredOption('-o, --out <file>', 'output file')
    .option('--url <url>', 'server URL (default: the server running on --data-dir, else the data dir itself)')
    .option('--token <token>', 'API token (analyst, scientist or admin)')
    .option('--json', 'print the result (file, rows, bytes) as JSON')
    .addHelpText(
      'after',
      `
Examples:
  sensorpipe export readings --from 2004-03-10 --to 2005-04-05 --sensors uci-air-multisensor --out air.parquet
  sensorpipe export readings --from 2026-11-01 --to 2026-12-01 --metrics temperature,humidity --format csv --out nov.csv`,
    )
    .action(async (flags: ReadingsFlags) => {
      const { from, to } = rangeFlags(flags);
      const filter: ReadingsFilter = { from, to, sensors: list(flags.sensors), metrics: list(flags.metrics) };
      try {
        checkIds('sensor', filter.sensors);
        checkIds('metric', filter.metrics);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.usage);
      }
      const format = formatFlag(flags.format, flags.out);
      const src = await sqlRunner(program, flags);
      let r: ExportResult;
      try {
        r = await exportReadings(src.run, filter, {
          format,
          out: flags.out,
          onPage: (n) => {
            if (process.stderr.isTTY && !flags.json) process.stderr.write(`\rexporting: ${n.toLocaleString('en-US')} readings`);
          },
        });
      } finally {
        await src.close();
        if (process.stderr.isTTY && !flags.json) process.stderr.write('\r\x1b[K');
      }
      if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(`wrote ${r.rows.toLocaleString('en-US')} readings to ${r.file} (${r.format}, ${r.bytes.toLocaleString('en-US')} bytes)${r.rows === 0 ? ' — nothing matched: check --from/--to, --sensors and --metrics' : ''}\n`);
    });
}
