import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { silentLogger } from '../../core/types.js';
import { allJobs } from '../../jobs/catalog.js';
import type { JobRun } from '../../jobs/job-runs.js';
import { JobRangeError, Scheduler, UnknownJobError, type JobInfo, type ProgressEvent, type RangeSummary } from '../../jobs/scheduler.js';
import { parseTime } from '../../jobs/windows.js';
import { dataPaths } from '../../runtime/paths.js';
import { openLake } from '../../sinks/lake/open-lake.js';
import type { ParquetLake } from '../../sinks/lake/parquet-lake.js';
import { WarehouseLockedError, WarehouseMissingError } from '../../sinks/warehouse/duckdb-open.js';
import { openWarehouse } from '../../sinks/warehouse/open-warehouse.js';
import type { Warehouse } from '../../core/sinks.js';
import type { Config } from '../../config/schema.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT, printRows } from '../output.js';
import { callServer, findServer, type ServerTarget } from '../server-client.js';

interface RemoteFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

const short = (iso: string | null | undefined) => (iso ? iso.replace(/:00\.000Z$/, 'Z').replace(/\.000Z$/, 'Z') : '-');

/**
 * Without a server, the CLI opens the warehouse itself (DuckDB allows one process per file):
 * read-only to look, read-write to run jobs. A PostgreSQL warehouse is opened directly.
 */
async function withLocalScheduler<T>(config: Config, mode: 'read' | 'write', fn: (s: Scheduler) => Promise<T>): Promise<T> {
  const paths = dataPaths(config.dataDir);
  if (config.warehouse.kind === 'duckdb' && !existsSync(paths.warehouse)) {
    throw new CliError(
      `no Sensorpipe server runs on ${paths.root} and there is no warehouse file at ${paths.warehouse}. Start one with \`sensorpipe start\` (or pass --data-dir / --url).`,
      EXIT.unavailable,
    );
  }
  let wh: Warehouse;
  try {
    wh = await openWarehouse({
      warehouse: config.warehouse,
      duckdbPath: paths.warehouse,
      metricDefaults: config.registry.metricDefaults,
      logger: silentLogger,
      readOnly: mode === 'read',
    });
  } catch (err) {
    if (err instanceof WarehouseLockedError) {
      throw new CliError(
        `${err.message.replace(/ To query a running server.*$/, '')} If a server runs there, talk to it with --url http://<host>:<port> (its HTTP API must be enabled).`,
        EXIT.unavailable,
      );
    }
    if (err instanceof WarehouseMissingError) throw new CliError(err.message, EXIT.unavailable);
    throw err;
  }
  // Running jobs needs the lake too (lake_compact, lake_archive); no server holds it, as the warehouse lock shows.
  let lake: ParquetLake | null = null;
  try {
    if (mode === 'write') lake = await openLake(config.lake, paths);
    return await fn(new Scheduler(allJobs(config), { warehouse: wh, lake, logger: silentLogger }));
  } catch (err) {
    if (err instanceof UnknownJobError || err instanceof JobRangeError) throw new CliError(err.message, EXIT.usage);
    throw err;
  } finally {
    await lake?.close();
    await wh.close();
  }
}

function remoteOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server URL (default: the server running on --data-dir)')
    .option('--token <token>', 'API token (default: $SENSORPIPE_TOKEN, or the local admin token of a server on this data dir)');
}

export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('batch jobs (resample, rollups, retention): list, run a range (backfill), history')
    .addHelpText('after', '\nSee docs/jobs.md for windows, the watermark, late data and retention.');

  remoteOptions(
    jobs
      .command('list')
      .description('every job with its schedule (cron, UTC), window, last run and next run')
      .option('--json', 'one JSON object per line')
      .addHelpText('after', '\nExamples:\n  sensorpipe jobs list\n  sensorpipe jobs list --json --url http://sensorpipe:8080 --token $TOKEN'),
  ).action(async (flags: RemoteFlags) => {
    const config = configFrom(program.opts<CommonFlags>());
    const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
    const list = target
      ? (await callServer<{ jobs: JobInfo[] }>(target, 'GET', '/v1/jobs')).jobs
      : await withLocalScheduler(config, 'read', (s) => s.list());
    if (flags.json) {
      for (const j of list) process.stdout.write(JSON.stringify(j) + '\n');
      return;
    }
    const rows = list.map((j) => ({
      job: j.name,
      enabled: j.enabled ? (j.running ? 'running' : 'yes') : 'no',
      schedule: j.schedule,
      window: j.window,
      grace: `${j.graceS}s`,
      last_run: j.lastRun ? `${j.lastRun.status} ${short(j.lastRun.windowStart)} (${j.lastRun.rows ?? 0} rows)` : 'never',
      last_finished: short(j.lastRun?.finishedAt),
      next_run: j.nextRun ? short(j.nextRun) : '-',
    }));
    printRows(rows, ['job', 'enabled', 'schedule', 'window', 'grace', 'last_run', 'last_finished', 'next_run'], false);
  });

  remoteOptions(
    jobs
      .command('history')
      .description('recent job runs, newest first: window, status, rows, duration, error')
      .option('--job <name>', 'only this job')
      .option('--limit <n>', 'at most this many runs (default 20)', '20')
      .option('--json', 'one JSON object per line (with each run’s detail)')
      .addHelpText('after', '\nExamples:\n  sensorpipe jobs history\n  sensorpipe jobs history --job resample --limit 5 --json'),
  ).action(async (flags: RemoteFlags & { job?: string; limit: string }) => {
    const config = configFrom(program.opts<CommonFlags>());
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliError(`--limit must be an integer 1-10000, got "${flags.limit}"`, EXIT.usage);
    const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
    let runs: JobRun[];
    if (target) {
      const q = new URLSearchParams({ limit: String(limit), ...(flags.job ? { job: flags.job } : {}) });
      runs = (await callServer<{ runs: JobRun[] }>(target, 'GET', `/v1/jobs/history?${q}`).catch((err: unknown) => {
        if (err instanceof CliError && / 404: /.test(err.message)) throw new CliError(err.message, EXIT.usage);
        throw err;
      })).runs;
    } else {
      runs = await withLocalScheduler(config, 'read', (s) => s.history({ job: flags.job, limit }));
    }
    if (flags.json) {
      for (const r of runs) process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    const rows = runs.map((r) => ({
      started_at: short(r.startedAt),
      job: r.job,
      trigger: r.triggeredBy,
      window_start: short(r.windowStart),
      window_end: short(r.windowEnd),
      status: r.status,
      rows: r.rows ?? '',
      duration_ms: r.durationMs ?? '',
      error: r.error ?? (typeof r.detail?.skipped === 'string' ? r.detail.skipped : ''),
    }));
    printRows(rows, ['started_at', 'job', 'trigger', 'window_start', 'window_end', 'status', 'rows', 'duration_ms', 'error'], false);
  });

  remoteOptions(
    jobs
      .command('run <job>')
      .description('run a job over every window in [--from, --to) (a backfill), or over the latest closed window')
      .option('--from <time>', 'start (rounded down to a window): ISO-8601 (UTC when no zone), now, or relative: -36h, -7d')
      .option('--to <time>', 'end, exclusive (rounded up to a window; windows not closed yet are left out)')
      .option('--dry-run', 'compute and report what would change; change nothing')
      .option('--json', 'print the summary as JSON')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  sensorpipe jobs run resample --from 2015-02-04 --to 2015-02-11      # backfill a week of 1-minute aggregates\n' +
          '  sensorpipe jobs run rollup_1h --from 2015-02-04 --to 2015-02-11\n' +
          '  sensorpipe jobs run rollup_1d --from -30d\n' +
          '  sensorpipe jobs run retention --dry-run                             # what would be deleted, per table\n' +
          '  sensorpipe jobs run lake_archive --dry-run                          # lake partitions that would move to lake/archive/\n' +
          '  sensorpipe jobs run lake_compact                                    # merge small files of closed lake partitions now\n' +
          'Backfill the levels in order: resample, then rollup_1h, then rollup_1d.',
      ),
  ).action(async (job: string, flags: RemoteFlags & { from?: string; to?: string; dryRun?: boolean }) => {
    const config = configFrom(program.opts<CommonFlags>());
    const range: { from?: number; to?: number } = {};
    for (const k of ['from', 'to'] as const) {
      const v = flags[k];
      if (v === undefined) continue;
      const t = parseTime(v, Date.now());
      if (t === null) throw new CliError(`--${k} "${v}" is not a time: use ISO-8601 (2024-05-01, 2024-05-01T12:00Z), now, or relative (-36h, -7d)`, EXIT.usage);
      range[k] = t;
    }
    const progress = progressPrinter(job);
    const target = findServer({ url: flags.url, token: flags.token, dataDir: config.dataDir });
    const summary = target
      ? await runRemote(target, job, { from: flags.from, to: flags.to, dryRun: flags.dryRun === true }, progress)
      : await withLocalScheduler(config, 'write', (s) => s.runRange(s.planRange(job, range), { dryRun: flags.dryRun === true, onProgress: progress }));
    printSummary(summary, !!flags.json);
  });
}

/** Progress on stderr, once the run has taken more than two seconds, at most once a second. */
function progressPrinter(job: string): (e: ProgressEvent) => void {
  const t0 = Date.now();
  let last = 0;
  let rows = 0;
  return (e) => {
    if (e.type === 'waiting') {
      process.stderr.write(`${job}: ${e.message}…\n`);
      return;
    }
    rows += e.run.rows;
    const now = Date.now();
    if ((now - t0 > 2000 && now - last > 1000) || (last > 0 && e.index === e.total)) {
      last = now;
      process.stderr.write(`${job}: ${e.index}/${e.total} windows, up to ${short(e.run.windowEnd)}, ${rows} rows\n`);
    }
  };
}

export async function runRemote(
  target: ServerTarget,
  job: string,
  body: { from?: string; to?: string; dryRun: boolean },
  onProgress: (e: ProgressEvent) => void,
): Promise<RangeSummary> {
  const path = `/v1/jobs/${encodeURIComponent(job)}/run`;
  let res: Response;
  try {
    res = await fetch(target.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach Sensorpipe at ${target.url} (${(err as Error).message}). Is it running?`, EXIT.unavailable);
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    throw new CliError(`${target.url}${path} answered ${res.status}: ${msg}`, res.status >= 400 && res.status < 500 ? EXIT.usage : EXIT.failure);
  }
  const decoder = new TextDecoder();
  let buf = '';
  let summary: RangeSummary | null = null;
  const handle = (line: string) => {
    if (!line.trim()) return;
    const e = JSON.parse(line) as ProgressEvent | { type: 'summary'; summary: RangeSummary } | { type: 'error'; message: string } | { type: 'start' };
    if (e.type === 'summary') summary = e.summary;
    else if (e.type === 'error') throw new CliError(`the server stopped the run: ${e.message}`, EXIT.failure);
    else if (e.type === 'waiting' || e.type === 'window') onProgress(e);
    // other lines ('start', and any a newer server adds) carry nothing the CLI prints
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      handle(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  handle(buf + decoder.decode());
  if (!summary) throw new CliError(`the connection to ${target.url} ended before the run finished; see \`sensorpipe jobs history --job ${job}\``, EXIT.failure);
  return summary;
}

function printSummary(s: RangeSummary, json: boolean): void {
  if (json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  const tables = (s.runs ?? []).flatMap((r) => (Array.isArray(r.detail?.tables) ? (r.detail.tables as Record<string, unknown>[]) : []));
  if (!json) {
    const rewrites = (s.runs ?? []).some((r) => Array.isArray(r.detail?.partitionsDetail)); // lake_compact, lake_archive
    const verb = tables.length > 0 ? 'deleted' : rewrites ? 'rewritten' : 'written';
    process.stdout.write(
      `${s.dryRun ? 'DRY RUN (nothing changed): ' : ''}${s.job}: ${s.ran} of ${s.windows} window${s.windows === 1 ? '' : 's'} from ${short(s.from)} to ${short(s.to)}: ` +
        `${s.ok} ok, ${s.skipped} skipped, ${s.failed} failed; ${s.rows} rows ${s.dryRun ? `would be ${verb}` : verb} (${(s.durationMs / 1000).toFixed(1)} s)\n`,
    );
    if (tables.length > 0) {
      printRows(
        tables.map((t) => ({ ...t, keepDays: t.keepDays ?? 'forever', heldBack: t.heldBack ?? '' })),
        ['table', 'keepDays', 'cutoff', 'rows', 'from', 'to', 'heldBack'],
        false,
      );
    }
    const partitions = (s.runs ?? []).flatMap((r) => (Array.isArray(r.detail?.partitionsDetail) ? (r.detail.partitionsDetail as Record<string, unknown>[]) : []));
    if (partitions.length > 0) {
      // lake_compact / lake_archive: every partition rewritten (or that would be), bytes before and after.
      printRows(partitions.map((p) => ({ ...p, bytesAfter: p.bytesAfter ?? '' })), ['dir', 'to', 'files', 'rows', 'bytes', 'bytesAfter'], false);
      for (const r of s.runs ?? []) if (typeof r.detail?.estimate === 'string') process.stdout.write(`estimate: ${r.detail.estimate}\n`);
    }
    for (const r of s.runs ?? []) if (r.status === 'skipped') process.stdout.write(`skipped ${short(r.windowStart)}: ${String(r.detail?.skipped ?? '')}\n`);
  }
  if (s.note) process.stderr.write(`note: ${s.note}\n`);
  if (s.failure) {
    throw new CliError(
      `window ${short(s.failure.windowStart)} .. ${short(s.failure.windowEnd)} failed: ${s.failure.error}\n` +
        `Fix the cause, then resume with: sensorpipe jobs run ${s.job} --from ${s.failure.windowStart} --to ${s.to}`,
      EXIT.failure,
    );
  }
}
