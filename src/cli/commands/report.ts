/**
 * `sensorpipe report digest [--week YYYY-Www] [--json]`: the weekly data-quality digest
 * (docs/digest.md). With a server running on the data dir (or --url), the server's `digest` job
 * makes it (POST /v1/jobs/digest/run, so it is recorded in job_runs and announced through the
 * server's notifiers); without one, the CLI opens the warehouse read-only and writes the files
 * itself (no announcement: the notifiers belong to the server).
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import type { RangeSummary } from '../../jobs/scheduler.js';
import { computeDigest, digestThresholds, headlineSentence, lastCompleteWeek, parseIsoWeek, writeDigest, DIGEST_JOB, type Digest } from '../../monitoring/digest/index.js';
import { dataPaths } from '../../runtime/paths.js';
import { DuckDbWarehouse, WarehouseLockedError, WarehouseMissingError } from '../../sinks/warehouse/duckdb-warehouse.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT } from '../output.js';
import { findServer } from '../server-client.js';
import { runRemote } from './jobs.js';

const DAY = 86_400_000;

interface DigestFlags {
  week?: string;
  json?: boolean;
  url?: string;
  token?: string;
}

interface Made {
  digest: Digest | null;
  headline: string;
  files: { html: string; md: string; json: string } | null;
}

function printMade(m: Made, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(m.digest ?? { headline: m.headline, files: m.files }, null, 2) + '\n');
    return;
  }
  const lines = [`digest for ${m.headline}`];
  for (const p of m.digest?.topProblems.slice(0, 5) ?? []) lines.push(`  ${p.rank}. ${p.severity}: ${p.title}`);
  if (m.digest && m.digest.topProblems.length === 0) lines.push('  no problems this week');
  if (m.files) lines.push(`open ${m.files.html}`, `also ${m.files.md} and ${m.files.json}`);
  process.stdout.write(lines.join('\n') + '\n');
}

async function makeLocally(config: ReturnType<typeof configFrom>, week: NonNullable<ReturnType<typeof parseIsoWeek>>): Promise<Made> {
  const paths = dataPaths(config.dataDir);
  if (!existsSync(paths.warehouse)) {
    throw new CliError(`no Sensorpipe server runs on ${paths.root} and there is no warehouse file at ${paths.warehouse}. Pass --data-dir or --url.`, EXIT.unavailable);
  }
  let wh: DuckDbWarehouse;
  try {
    wh = await DuckDbWarehouse.open({ path: paths.warehouse, metricDefaults: config.registry.metricDefaults, readOnly: true });
  } catch (err) {
    if (err instanceof WarehouseLockedError || err instanceof WarehouseMissingError) throw new CliError(err.message, EXIT.unavailable);
    throw err;
  }
  try {
    const digest = await computeDigest(wh, week, Date.now(), digestThresholds(config));
    const files = await writeDigest(paths.lake, digest);
    return { digest, headline: headlineSentence(digest), files };
  } finally {
    await wh.close();
  }
}

export function registerReport(program: Command): void {
  const report = program.command('report').description('reports made from the warehouse: the weekly data-quality digest');
  report
    .command('digest')
    .description('make the weekly data-quality digest (HTML, Markdown, JSON under <lake>/reports/digest/<week>/)')
    .option('--week <YYYY-Www>', 'ISO week, e.g. 2026-W49 (default: the last complete week)')
    .option('--json', 'print the digest as JSON')
    .option('--url <url>', 'server URL (default: the server running on --data-dir)')
    .option('--token <token>', 'API token (default: $SENSORPIPE_TOKEN, or the local admin token of a server on this data dir)')
    .addHelpText(
      'after',
      '\nExamples:\n  sensorpipe report digest                    # the week that ended last Sunday\n  sensorpipe report digest --week 2015-W07 --json\n' +
        'See docs/digest.md for what is in it and how to read it.',
    )
    .action(async (flags: DigestFlags) => {
      const config = configFrom(program.opts<CommonFlags>());
      const week = flags.week ? parseIsoWeek(flags.week) : lastCompleteWeek(Date.now());
      if (!week) throw new CliError(`--week "${flags.week}" is not an ISO week: use YYYY-Www, e.g. 2026-W49 (weeks start on Monday, UTC)`, EXIT.usage);
      if (week.end > Date.now()) {
        throw new CliError(`week ${week.name} is not over until ${new Date(week.end).toISOString().slice(0, 10)}; the last complete week is ${lastCompleteWeek(Date.now()).name}`, EXIT.usage);
      }
      const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
      if (!target) {
        printMade(await makeLocally(config, week), !!flags.json);
        return;
      }
      // The job makes the digest of a week on the window of its last day.
      const lastDay = new Date(week.end - DAY).toISOString();
      const summary: RangeSummary = await runRemote(target, DIGEST_JOB, { from: lastDay, to: new Date(week.end).toISOString(), dryRun: false }, () => undefined);
      const run = summary.runs?.[0];
      if (!run || run.status !== 'ok') {
        const why = run?.error ?? (typeof run?.detail?.skipped === 'string' ? run.detail.skipped : summary.note ?? 'no run');
        throw new CliError(`the server did not make the digest of ${week.name}: ${why}`, EXIT.failure);
      }
      const detail = run.detail as { headline: string; files: { html: string; md: string; json: string } };
      // On the same machine the files are readable; from elsewhere only the summary is.
      const digest = existsSync(detail.files.json) ? (JSON.parse(readFileSync(detail.files.json, 'utf8')) as Digest) : null;
      printMade({ digest, headline: detail.headline, files: detail.files }, !!flags.json);
    });
}
