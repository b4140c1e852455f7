import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { createLogger } from '../../runtime/logger.js';
import { systemClock } from '../../core/types.js';
import { loadMapping, MappingError, type MappingFlags } from '../../import/mapping.js';
import { progressFor } from '../../import/progress.js';
import { resolveInputs, runImport, type ImportReport } from '../../import/run-import.js';
import { LocalImportSink, ServerImportError, ServerImportSink, type ImportSink } from '../../import/sinks.js';
import { dataPaths } from '../../runtime/paths.js';
import { WarehouseLockedError } from '../../sinks/warehouse/duckdb-open.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT } from '../output.js';
import { findServer } from '../server-client.js';

interface ImportFlags extends MappingFlags {
  mapping?: string;
  url?: string;
  token?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerImport(program: Command): void {
  program
    .command('import <input>')
    .description('import historical readings from CSV/TSV/NDJSON (a file, a directory of files, or - for stdin) through validation, dedup and the spool')
    .option('-m, --mapping <file>', 'mapping YAML: columns, timestamp format, sensor, metrics (see docs/import.md)')
    .option('--format <csv|tsv|ndjson>', 'input format (default: from the file extension)')
    .option('--delimiter <char>', 'field separator (default "," for csv, tab for tsv)')
    .option('--decimal-comma', 'numbers use a decimal comma (2,6)')
    .option('--encoding <utf8|latin1>', 'text encoding of the file')
    .option('--ts-column <cols>', 'timestamp column, or date and time columns joined with a comma: Date,Time')
    .option('--ts-format <fmt>', 'iso, epoch_s, epoch_ms, or a Luxon format like "dd/MM/yyyy HH.mm.ss"')
    .option('--timezone <tz>', 'zone of times without one: UTC, +01:00, Europe/Rome')
    .option('--sensor-id <id>', 'every row belongs to this sensor')
    .option('--sensor-column <col>', 'the column holding the sensor id')
    .option('--metrics <list>', 'metric columns: column[:name[:unit]],… e.g. "T:temperature:°C,RH:humidity"')
    .option('--missing <list>', 'missing-value markers, comma separated (e.g. "-200,NA,?," — a trailing comma adds the empty value)')
    .option('--url <url>', 'server URL (default: the server running on --data-dir, if any)')
    .option('--token <token>', 'admin API token (default: $SENSORPIPE_TOKEN, or the local admin token)')
    .option('--json', 'print the final report as JSON on stdout')
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText(
      'after',
      `
Without a running server the importer opens the data directory itself; with one (the DuckDB file has a
single writer) it sends batches to POST /v1/ingest/import. Importing the same file again stores nothing new
(identical readings are duplicates).

Examples:
  sensorpipe import ../shared/data/uci-air-quality/AirQualityUCI.csv --mapping examples/mappings/uci-air-quality.yaml
  sensorpipe import ../shared/data/uci-occupancy --mapping examples/mappings/uci-occupancy.yaml --json
  sensorpipe import readings.csv --ts-column time --sensor-column device --metrics temp:temperature,hum:humidity
  cat export.ndjson | sensorpipe import - --format ndjson --ts-column ts --ts-format epoch_ms --sensor-id s1 --metrics t:temperature

Exit codes: 0 imported (quarantined rows are reported, not an error), 1 storage failure,
2 bad mapping or input, 4 server unreachable.`,
    )
    .action(async (input: string, flags: ImportFlags) => {
      const config = configFrom(program.opts<CommonFlags>());
      let mapping;
      try {
        mapping = loadMapping(flags.mapping, flags);
      } catch (err) {
        if (err instanceof MappingError) throw new CliError(err.message, EXIT.usage);
        throw err;
      }
      if (input !== '-' && !existsSync(input)) throw new CliError(`${input}: no such file or directory`, EXIT.usage);
      const inputs = resolveInputs(input);
      if (inputs.length === 0) throw new CliError(`${input} has no importable files (.csv, .tsv, .txt, .ndjson, .jsonl)`, EXIT.usage);

      const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
      const logger = createLogger('warn');
      let sink: ImportSink;
      if (target) {
        sink = new ServerImportSink(target);
      } else {
        try {
          sink = await LocalImportSink.open(config, { clock: systemClock, logger });
        } catch (err) {
          const msg = (err as Error).message;
          if (err instanceof WarehouseLockedError) {
            throw new CliError(
              `the warehouse ${dataPaths(config.dataDir).warehouse} is in use by another process (${msg}). ` +
                'If a server runs on this data dir, pass --url (and --token) so the import goes through it.',
              EXIT.unavailable,
            );
          }
          throw err;
        }
      }
      const progress = progressFor({ stream: process.stderr, quiet: !!flags.quiet, clock: systemClock });
      let report: ImportReport;
      try {
        report = await runImport(inputs, mapping, sink, { progress });
      } catch (err) {
        if (err instanceof ServerImportError) {
          throw new CliError(err.message, err.status === null ? EXIT.unavailable : err.status === 401 || err.status === 403 || err.status === 400 ? EXIT.usage : EXIT.failure);
        }
        if (err instanceof Error && /is not a column of this file/.test(err.message)) throw new CliError(err.message, EXIT.usage);
        throw err;
      } finally {
        await sink.close();
      }
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(formatReport(report, target?.url ?? dataPaths(config.dataDir).root));
    });
}

export function formatReport(r: ImportReport, where: string): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `imported ${r.files.length} file${r.files.length === 1 ? '' : 's'} into ${where} (${r.mode === 'local' ? 'data directory opened directly' : 'through the running server'})`,
    `  rows read            ${n(r.rows)}   (blank ${n(r.blankRows)}, every value missing ${n(r.allMissingRows)})`,
    `  readings accepted    ${n(r.readingsAccepted)}` +
      (r.newReadings === null ? '' : `   (new ${n(r.newReadings)}, already stored ${n(r.readingsAccepted - r.newReadings)})`),
    `  missing values       ${n(r.missingValues)}   (skipped: a missing marker is not a reading)`,
    `  quarantined          ${n(r.quarantined)}`,
  ];
  for (const [reason, count] of Object.entries(r.quarantinedByReason).sort((a, b) => b[1] - a[1])) lines.push(`    ${reason.padEnd(20)} ${n(count)}`);
  if (r.quarantined > 0) lines.push('  see them with: sensorpipe query "select reason, detail from quarantine where source = \'import\' order by received_at desc limit 20"');
  return lines.join('\n') + '\n';
}
