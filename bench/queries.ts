/**
 * Query benchmark (issue 8, item 4): N synthetic readings of a 1,000-sensor fleet, generated in the
 * warehouse by SQL, the aggregate tables built by the product's own jobs, then the queries a BI user
 * runs — hourly rollup over everything, one sensor for one day at 1-minute resolution, last value
 * per sensor — from raw readings and from the rollups, directly and through the HTTP API, on DuckDB
 * and on PostgreSQL.
 *
 *   node --import tsx bench/queries.ts --readings 100000000 --sensors 1000 [--engines duckdb,postgres] [--runs 5] [--no-docs] [--keep]
 *   node --import tsx bench/queries.ts --report-only bench/results/queries-latest.json   # re-render the doc
 *
 * Writes bench/results/queries-<date>.json and queries-latest.json, and (without --no-docs)
 * docs/performance-queries.md. Importable without side effects: bench/run.ts calls runQueryBench.
 */
import { execSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { apiRequest, startApi, stopApi } from './lib/queries-api.js';
import { layoutFor, type Engine, type Layout } from './lib/queries-data.js';
import {
  buildRollups,
  createWarehouse,
  dropEngine,
  loadReadings,
  openDirect,
  setupFor,
  sizes,
  type LoadFigures,
  type RollupFigures,
  type Sizes,
} from './lib/queries-engines.js';
import { renderQueryReport } from './lib/queries-report.js';
import { querySpecs, type QueryId } from './lib/queries-sql.js';
import { timeQuery, type Timing } from './lib/queries-timing.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface QueryBenchOptions {
  readings: number;
  sensors: number;
  engines: Engine[];
  workDir: string;
  log: (s: string) => void;
  /** Timed runs after the cold one (default 5). */
  runs?: number;
  /** Keep the loaded warehouses (the DuckDB file in workDir, the PostgreSQL database) instead of dropping them. */
  keep?: boolean;
  /** Called after each engine with the results so far (the CLI writes them, so a run stopped later keeps them). */
  onEngineDone?: (partial: QueryBenchResult) => Promise<void>;
}

export interface QueryResult {
  id: QueryId;
  label: string;
  source: 'raw' | 'rollup';
  sql: string;
  apiRequest: string;
  direct: Timing;
  api: Timing;
}

export interface EngineResult {
  engine: Engine;
  load?: LoadFigures;
  rollups?: RollupFigures;
  sizes?: Sizes;
  apiStartMs?: number;
  queries: QueryResult[];
  /** GET /v1/sensors: the registry with last_seen per metric (a full scan of readings). */
  sensorsEndpoint?: Timing;
  error?: string;
  loadAvgAfter: number[];
}

export interface QueryBenchResult {
  startedAt: string;
  finishedAt: string;
  commit: string;
  command: string;
  machine: { cpu: string; cores: number; memGB: number; node: string; postgres: string | null; duckdb: string };
  loadAvgStart: number[];
  loadAvgEnd: number[];
  layout: Layout;
  runs: number;
  slowMs: number;
  engines: EngineResult[];
  /** Remarks about the run added afterwards (what else ran, aborted attempts and their figures). */
  notes?: string[];
}

/** A query whose cold run exceeds this gets 2 timed runs instead of `runs`. */
const SLOW_MS = 20_000;

export async function runQueryBench(opts: QueryBenchOptions): Promise<QueryBenchResult> {
  const { log } = opts;
  const runs = opts.runs ?? 5;
  const layout = layoutFor(opts.readings, opts.sensors);
  const startedAt = new Date().toISOString();
  // At the start: in a shared working tree HEAD may move while a long run goes on.
  const commit = sh('git rev-parse --short HEAD') + (sh('git status --porcelain --untracked-files=no') ? ' (with uncommitted changes)' : '');
  const loadAvgStart = loadavg();
  log(
    `query bench: ${layout.readings.toLocaleString('en-US')} readings = ${layout.sensors} sensors × ${layout.metrics.length} metrics × ${layout.minutes} minutes ` +
      `(${new Date(layout.startMs).toISOString()} to ${new Date(layout.endMs).toISOString()}), engines ${opts.engines.join(', ')}`,
  );
  await mkdir(opts.workDir, { recursive: true });
  const engines: EngineResult[] = [];
  const result = (): QueryBenchResult => ({
    startedAt,
    finishedAt: new Date().toISOString(),
    commit,
    command: `node --import tsx bench/queries.ts --readings ${opts.readings} --sensors ${opts.sensors} --engines ${opts.engines.join(',')}`,
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres: opts.engines.includes('postgres') ? sh(`psql -At -c 'SHOW server_version' ${process.env.SENSORPIPE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432'}/postgres`) : null,
      duckdb: sh(`node -p "require('@duckdb/node-api/package.json').version"`),
    },
    loadAvgStart,
    loadAvgEnd: loadavg(),
    layout,
    runs,
    slowMs: SLOW_MS,
    engines: [...engines],
  });
  for (const engine of opts.engines) {
    engines.push(await benchEngine(engine, layout, opts, runs));
    await opts.onEngineDone?.(result());
  }
  return result();
}

async function benchEngine(engine: Engine, layout: Layout, opts: QueryBenchOptions, runs: number): Promise<EngineResult> {
  const { log } = opts;
  const s = setupFor(engine, opts.workDir);
  const out: EngineResult = { engine, queries: [], loadAvgAfter: [] };
  const specs = querySpecs(engine, layout);
  try {
    log(`[${engine}] phase 1/4: load`);
    const w = await createWarehouse(s);
    try {
      out.load = await loadReadings(s, w, layout, log);
      log(`[${engine}] loaded in ${sec(out.load.loadMs)} (${out.load.rowsPerS.toLocaleString('en-US')} readings/s)${out.load.indexMs ? `, indexes + VACUUM ANALYZE ${sec(out.load.indexMs)}` : ''}`);
      log(`[${engine}] phase 2/4: rollups (the product's resample, rollup_1h, rollup_1d jobs, window by window)`);
      out.rollups = await buildRollups(s, w, layout, log);
      log(`[${engine}] rollups built in ${sec(out.rollups.totalMs)}`);
    } finally {
      await w.close();
    }
    out.sizes = await sizes(s);
    log(`[${engine}] phase 3/4: queries, direct`);
    const direct = await openDirect(s);
    const directTimes: Timing[] = [];
    try {
      for (const q of specs) {
        const t = await timeQuery(() => direct.query(q.sql), { runs, slowMs: SLOW_MS });
        directTimes.push(t);
        log(`  ${q.id}: ${fmtTiming(t)}`);
      }
    } finally {
      await direct.close();
    }
    log(`[${engine}] phase 4/4: queries through the API`);
    const api = await startApi(s, 900_000);
    out.apiStartMs = api.startMs;
    try {
      for (const [k, q] of specs.entries()) {
        const t = await timeQuery(() => apiRequest(api, q.api), { runs, slowMs: SLOW_MS });
        log(`  ${q.id}: ${fmtTiming(t)}`);
        out.queries.push({
          id: q.id,
          label: q.label,
          source: q.source,
          sql: q.sql.replace(/\s+/g, ' '),
          apiRequest: q.apiNote,
          direct: directTimes[k],
          api: t,
        });
      }
      out.sensorsEndpoint = await timeQuery(() => apiRequest(api, { method: 'GET', path: '/v1/sensors' }), { runs: Math.min(runs, 2), slowMs: SLOW_MS });
      log(`  GET /v1/sensors: ${fmtTiming(out.sensorsEndpoint)}`);
    } finally {
      await stopApi(api);
    }
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
    log(`[${engine}] FAILED: ${out.error}`);
  } finally {
    out.loadAvgAfter = loadavg();
    if (!opts.keep) await dropEngine(s).catch((e) => log(`[${engine}] cleanup failed: ${String(e)}`));
  }
  return out;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmtTiming = (t: Timing) =>
  t.error ? `FAILED ${t.error}` : `cold ${t.coldMs} ms, median ${t.medianMs} ms of ${t.runsMs.length} (${t.rows} rows)`;

function sh(cmd: string): string {
  try {
    return execSync(cmd, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Writes the JSON results (dated and latest) and, unless noDocs, docs/performance-queries.md. */
export async function writeQueryResults(r: QueryBenchResult, noDocs: boolean): Promise<string[]> {
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const json = JSON.stringify(r, null, 2) + '\n';
  const files = [join(dir, `queries-${r.startedAt.slice(0, 10)}.json`), join(dir, 'queries-latest.json')];
  for (const f of files) await writeFile(f, json);
  if (!noDocs) {
    const doc = join(ROOT, 'docs', 'performance-queries.md');
    await writeFile(doc, renderQueryReport(r));
    files.push(doc);
  }
  return files;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const val = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  };
  const reportOnly = val('report-only');
  if (reportOnly) {
    const doc = join(ROOT, 'docs', 'performance-queries.md');
    await writeFile(doc, renderQueryReport(JSON.parse(await readFile(reportOnly, 'utf8')) as QueryBenchResult));
    console.log(`wrote ${doc.replace(ROOT, '')} from ${reportOnly}`);
    return;
  }
  const readings = Number(val('readings') ?? 1_000_000);
  const sensors = Number(val('sensors') ?? 1000);
  const engines = (val('engines') ?? 'duckdb,postgres').split(',').map((e) => e.trim()) as Engine[];
  if (engines.some((e) => e !== 'duckdb' && e !== 'postgres')) throw new Error(`--engines takes duckdb, postgres or both (comma-separated), got ${engines.join(',')}`);
  if (!Number.isInteger(readings) || readings <= 0 || !Number.isInteger(sensors) || sensors <= 0 || sensors > 10_000) {
    throw new Error('--readings and --sensors must be positive whole numbers (sensors at most 10,000)');
  }
  const workDir = await mkdtemp(join(tmpdir(), 'sensorpipe-bench-queries-'));
  const log = (s: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${s}`);
  try {
    const noDocs = argv.includes('--no-docs');
    // --merge <results.json>: engines of an earlier run (same size) that this run does not measure are kept in the results.
    const mergeFile = val('merge');
    const earlier = mergeFile ? (JSON.parse(await readFile(mergeFile, 'utf8')) as QueryBenchResult) : null;
    const merged = (r: QueryBenchResult): QueryBenchResult => {
      if (!earlier) return r;
      if (earlier.layout.readings !== r.layout.readings) throw new Error(`--merge ${mergeFile} has ${earlier.layout.readings} readings, this run ${r.layout.readings}`);
      const kept = earlier.engines.filter((e) => !r.engines.some((x) => x.engine === e.engine));
      return {
        ...r,
        startedAt: earlier.startedAt < r.startedAt ? earlier.startedAt : r.startedAt,
        loadAvgStart: earlier.loadAvgStart,
        command: `${earlier.command} (${kept.map((e) => e.engine).join(', ')}, commit ${earlier.commit}), then ${r.command}`,
        engines: [...kept, ...r.engines],
      };
    };
    const onEngineDone = async (partial: QueryBenchResult) => {
      await writeQueryResults(merged(partial), noDocs);
    };
    const r = await runQueryBench({ readings, sensors, engines, workDir, log, runs: Number(val('runs') ?? 5), keep: argv.includes('--keep'), onEngineDone });
    const files = await writeQueryResults(merged(r), noDocs);
    log(`wrote ${files.map((f) => f.replace(ROOT, '')).join(', ')}`);
  } finally {
    if (!argv.includes('--keep')) await rm(workDir, { recursive: true, force: true });
    else log(`kept ${workDir}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
