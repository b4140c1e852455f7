import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { QueryResult } from '../../core/sinks.js';
import { exportReadings, parseTimeFlag, type ExportResult } from '../../export/readings-export.js';
import { checkIds, type ReadingsFilter, type SqlRunner } from '../../export/readings-pages.js';
import { exportFeatures, FeatureSpecError } from '../../export/features-export.js';
import { parseDuration, type Fill } from '../../export/features.js';
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

  exp
    .command('features')
    .description('a wide, model-ready table: one row per time step, one column per sensor and metric, with flag and gap columns, plus a manifest')
    .requiredOption('--sensors <ids>', 'comma-separated sensor ids')
    .requiredOption('--metrics <names>', 'comma-separated metrics (every sensor gets a column per metric)')
    .requiredOption('--from <time>', 'first grid time, inclusive: ISO-8601 (UTC when no zone) or epoch ms')
    .requiredOption('--to <time>', 'end of the grid, exclusive')
    .option('--resolution <1m|1h>', 'grid step', '1h')
    .option('--fill <none|ffill|linear>', 'none: a reading in the step; ffill: last reading up to --max-gap old; linear: interpolate (looks ahead: not point-in-time)', 'none')
    .option('--max-gap <duration>', 'longest gap to fill, e.g. 90s, 5m, 2h, 1d (default: 5 steps)')
    .option('--format <parquet|csv>', 'output format (default: from --out, else parquet)')
    .requiredOption('-o, --out <file>', 'output file; the manifest goes to <file>.manifest.json')
    .option('--url <url>', 'server URL (default: the server running on --data-dir, else the data dir itself)')
    .option('--token <token>', 'API token (analyst, scientist or admin)')
    .option('--json', 'print the manifest as JSON')
    .addHelpText(
      'after',
      `
Examples:
  sensorpipe export features --sensors uci-air-multisensor --metrics co_gt,temperature,humidity \\
      --from 2004-03-11 --to 2004-04-11 --resolution 1h --fill ffill --max-gap 3h --out air-features.parquet
  sensorpipe export features --sensors s1,s2 --metrics temperature --from 2026-11-01 --to 2026-11-02 --resolution 1m --format csv --out f.csv`,
    )
    .action(async (flags: { sensors: string; metrics: string; from: string; to: string; resolution: string; fill: string; maxGap?: string; format?: string; out: string; url?: string; token?: string; json?: boolean }) => {
      const { from, to } = rangeFlags(flags);
      const resolutionMs = { '1m': 60_000, '1h': 3_600_000 }[flags.resolution];
      if (!resolutionMs) throw new CliError(`--resolution must be 1m or 1h, got "${flags.resolution}"`, EXIT.usage);
      if (!['none', 'ffill', 'linear'].includes(flags.fill)) throw new CliError(`--fill must be none, ffill or linear, got "${flags.fill}"`, EXIT.usage);
      const maxGapMs = flags.maxGap === undefined ? 5 * resolutionMs : parseDuration(flags.maxGap);
      if (!Number.isFinite(maxGapMs)) throw new CliError(`--max-gap must be a duration like 90s, 5m, 2h or 1d, got "${flags.maxGap}"`, EXIT.usage);
      const spec = { sensors: list(flags.sensors), metrics: list(flags.metrics), from, to, resolutionMs, fill: flags.fill as Fill, maxGapMs };
      try {
        checkIds('sensor', spec.sensors);
        checkIds('metric', spec.metrics);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.usage);
      }
      const format = formatFlag(flags.format, flags.out);
      const src = await sqlRunner(program, flags);
      const tty = process.stderr.isTTY && !flags.json;
      try {
        const m = await exportFeatures(src.run, spec, {
          format,
          out: flags.out,
          origin: src.where,
          labels: { resolution: flags.resolution, maxGap: flags.maxGap ?? `${5 * resolutionMs / 60_000}m` },
          now: Date.now(),
          onRows: (n) => tty && process.stderr.write(`\rexporting features: ${n.toLocaleString('en-US')} rows`),
        });
        if (tty) process.stderr.write('\r\x1b[K');
        if (flags.json) {
          process.stdout.write(JSON.stringify(m, null, 2) + '\n');
          return;
        }
        const missing = Object.values(m.quality).reduce((n, q) => n + q.missing, 0);
        const cells = m.rowCounts.rows * Object.keys(m.quality).length;
        process.stdout.write(
          `wrote ${m.rowCounts.rows.toLocaleString('en-US')} rows x ${Object.keys(m.quality).length} series to ${m.file.path} (${format}, ${m.file.bytes.toLocaleString('en-US')} bytes)\n` +
            `  from ${m.rowCounts.readingsRead.toLocaleString('en-US')} readings; missing cells ${missing.toLocaleString('en-US')} of ${cells.toLocaleString('en-US')}\n` +
            `  manifest ${m.file.path}.manifest.json${m.pointInTimeCorrect ? '' : '   (fill linear: NOT point-in-time correct)'}\n`,
        );
      } catch (err) {
        if (err instanceof FeatureSpecError) throw new CliError(err.message, EXIT.usage);
        throw err;
      } finally {
        await src.close();
      }
    });
}
