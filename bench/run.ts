/**
 * `npm run bench`: one workload against the ceilings, Sensorpipe (embedded and on an external
 * broker), the Node-RED peer and HTTP bulk ingest, in one run, reported as ratios.
 *
 *   npm run bench                      # 1,000 sensors, steps 1k..20k msg/s of 10 s each
 *   npm run bench -- --quick           # 200 sensors, 3 s steps at 2k, 10k, 20k msg/s (~3 min)
 *   npm run bench -- --sensors 10000   # the big fleet (memory target)
 *   npm run bench -- --targets embedded,aedes --rates 2000,10000 --step-seconds 5
 *   npm run bench -- --profile --targets embedded --rates 5000   # CPU profile of the embedded server:
 *       top functions by self time into bench/results/profile-embedded.json (no docs, no results written)
 *   npm run bench -- --profile --targets http                    # the same for HTTP bulk ingest (profile-http.json)
 *   npm run bench -- --profile --targets external --rates 5000   # and for the external broker (profile-external.json)
 *
 *   npm run bench -- --targets queries                            # 100 M readings in DuckDB and PostgreSQL (not in the default run: loading takes long)
 *   npm run bench -- --report-only bench/results/latest.json     # re-render the docs from a results file, measure nothing
 *
 * A full run writes bench/results/bench-<date>.json, bench/results/latest.json, the table in
 * docs/performance.md (between the BENCH markers) and docs/img/bench-throughput.svg; --quick writes
 * only bench/results/bench-<date>-quick.json, --no-docs nothing (the table is printed either way).
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { httpBulk, type HttpBulkResult } from './lib/http-bulk.js';
import { MqttLoad } from './lib/load.js';
import { measureStep, type StepResult } from './lib/measure.js';
import { installNodeRed, nodeRed } from './lib/node-red.js';
import { byOwner, topFunctions } from './lib/profile-top.js';
import { writeReport, type BenchReport } from './lib/report.js';
import { aedesCeiling, bareSubscriber, buildDist, sensorpipeEmbedded, sensorpipeExternal, type Target, waitFor } from './lib/targets.js';
import { Workload } from './lib/workload.js';
import { runStorageBench, saveStorageResults, type StorageBenchResult } from './lake-storage.js';
import { runQueryBench, writeQueryResults, type QueryBenchResult } from './queries.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sensors: { type: 'string' },
    'step-seconds': { type: 'string' },
    rates: { type: 'string' },
    targets: { type: 'string', default: 'aedes,bare,embedded,external,node-red,http,fleet,storage' },
    seed: { type: 'string', default: 'sensorpipe-bench' },
    'no-docs': { type: 'boolean', default: false },
    'fleet-sensors': { type: 'string' },
    'query-readings': { type: 'string', default: '100000000' },
    'query-engines': { type: 'string', default: 'duckdb,postgres' },
    'fleet-rate': { type: 'string', default: '10000' },
    'fleet-memory-limit': { type: 'string', default: '256MB' },
    profile: { type: 'boolean', default: false },
    'report-only': { type: 'string' },
  },
});
if (values['report-only']) {
  console.log(writeReport(JSON.parse(readFileSync(values['report-only'], 'utf8')) as BenchReport, true));
  process.exit(0);
}
const quick = values.quick!;
// --quick defaults to 200 sensors: registering 1,000 first-seen sensors alone takes a minute per Sensorpipe target.
const sensors = Number(values.sensors ?? (quick ? 200 : 1000));
const stepSeconds = Number(values['step-seconds'] ?? (quick ? 3 : 10));
const rates = (values.rates ?? (quick ? '2000,10000,20000' : '2000,5000,10000,15000,20000,25000,30000,40000')).split(',').map(Number);
const wanted = new Set(values.targets!.split(','));
const DRAIN_MS = 15_000;

export interface TargetResult {
  name: string;
  measured: boolean;
  why?: string;
  steps: StepResult[];
  /** Highest offered rate held with zero loss (0 = none). */
  maxHeld: number;
  /** Seconds until one message of every sensor was queryable (first-seen sensors are registered). */
  warmupSeconds?: number;
}

const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-bench-'));
const startedAt = new Date();
const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
console.log(`${command}\n${sensors} sensors, rates ${rates.join(', ')} msg/s, ${stepSeconds} s per step, QoS 1, seed ${values.seed}; work dir ${dir}`);

let lastLog: (() => string) | undefined;
/** The target running now: Ctrl-C stops it (its brokers and servers are child processes) before exiting. */
let current: Target | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.log(`\n${sig}: stopping ${current?.name ?? 'nothing'} and removing ${dir}`);
    void (current?.stop() ?? Promise.resolve()).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

/** Sums the stage times of the writer's debug lines ("warehouse batch", "lake batch written"). */
function writerStages(log: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.includes('"warehouse batch"') && !line.includes('"lake batch written"')) continue;
    const rec = JSON.parse(line) as Record<string, unknown>;
    const prefix = rec.component === 'lake' ? 'lake.' : 'warehouse.';
    sums[prefix + 'batches'] = (sums[prefix + 'batches'] ?? 0) + 1;
    for (const [k, v] of Object.entries(rec)) if (k.endsWith('Ms') && typeof v === 'number') sums[prefix + k] = (sums[prefix + k] ?? 0) + v;
  }
  return sums;
}

async function mqttTarget(name: string, start: () => Promise<Target>, w: { sensors: number; rates: number[] } = { sensors, rates }): Promise<TargetResult> {
  const result: TargetResult = { name, measured: false, steps: [], maxHeld: 0 };
  const warmupMs = Math.max(180_000, w.sensors * 100);
  let target: Target | null = null;
  let load: MqttLoad | null = null;
  try {
    target = await start();
    current = target;
    // A fresh workload per target: same seed, same messages.
    load = await MqttLoad.connect(target.mqttUrl!, new Workload(w.sensors, values.seed!), 8, 2000);
    // Warm-up: one message per sensor, so the steps measure the steady state, not first-seen sensor registration.
    const t0 = Date.now();
    await load.burst(w.sensors);
    const warm = await waitFor(async () => (await target!.delivered()) >= load!.next, warmupMs);
    result.warmupSeconds = Math.round((Date.now() - t0) / 100) / 10;
    console.log(`  ${name.padEnd(20)} warm-up: one message from each of ${w.sensors} sensors queryable after ${result.warmupSeconds} s${warm ? '' : ' (NOT all: timed out)'}`);
    if (!warm) throw new Error(`warm-up: the first message of every sensor was not queryable within ${warmupMs / 1000} s`);
    result.measured = true;
    for (const rate of w.rates) {
      const s = await measureStep(target, load, rate, stepSeconds, DRAIN_MS);
      result.steps.push(s);
      console.log(
        `  ${name.padEnd(20)} offered ${String(rate).padStart(6)}  sent ${String(s.achieved).padStart(6)}/s  queryable ${String(s.throughput).padStart(6)}/s  ` +
          `missing ${s.missing}  p50 ${s.p50Ms ?? '-'} ms  p99 ${s.p99Ms ?? '-'} ms  cpu ${s.cpuSecondsPerMillionReadings ?? '-'} s/M  rss ${s.peakRssMb} MB  load ${s.load1}  ${s.held ? 'held' : 'NOT held: ' + s.why}`,
      );
      if (!s.held) break;
      result.maxHeld = rate;
    }
  } catch (err) {
    result.why = (err as Error).message.split('\n').slice(0, 3).join(' ');
    console.log(`  ${name}: not measured: ${result.why}`);
  } finally {
    await load?.close();
    await target?.stop();
    current = null;
    lastLog = target?.log;
  }
  return result;
}

/** --profile: the server's main-thread profile (the largest .cpuprofile: the others are worker threads) into bench/results/profile-<what>.json, then exit. */
function saveProfile(what: string, figures: unknown): never {
  const pdir = join(dir, 'profile');
  const file = readdirSync(pdir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(pdir, b)).size - statSync(join(pdir, a)).size)[0];
  if (!file) throw new Error(`no .cpuprofile was written in ${pdir}: did the server exit cleanly?`);
  const path = join(pdir, file);
  const prof = { date: startedAt.toISOString(), command, figures, writerStagesMs: writerStages(lastLog?.() ?? ''), ...topFunctions(path, 20), byOwner: byOwner(path) };
  console.log(prof.writerStagesMs);
  writeFileSync(new URL(`./results/profile-${what}.json`, import.meta.url), JSON.stringify(prof, null, 2) + '\n');
  console.log(prof.top.map((t) => `  ${String(t.selfPct).padStart(5)} %  ${t.fn}  ${t.where}`).join('\n'));
  console.log('Main-thread time by the Sensorpipe file (else package) that spent it:');
  console.log(prof.byOwner.map((o) => `  ${String(o.selfPct).padStart(5)} %  ${o.owner}`).join('\n'));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const results: TargetResult[] = [];
const fleetSensors = Number(values['fleet-sensors'] ?? (quick ? 0 : 10_000));
const fleet: { variant: string; env: Record<string, string>; result: TargetResult }[] = [];
let storage: StorageBenchResult | null = null;
let queries: QueryBenchResult | null = null;
let http: HttpBulkResult | null = null;
let httpWhy: string | null = null;
let nodeRedWhy: string | null = null;
try {
  if (wanted.has('node-red')) nodeRedWhy = installNodeRed();
  if (['embedded', 'external', 'http', 'fleet'].some((t) => wanted.has(t))) {
    console.log('building dist/ (the servers run bin/sensorpipe.js, as users do)');
    buildDist();
  }
  if (wanted.has('aedes')) results.push(await mqttTarget('aedes-ceiling', aedesCeiling));
  if (wanted.has('bare')) results.push(await mqttTarget('bare-subscriber', () => bareSubscriber(dir)));
  if (wanted.has('embedded')) results.push(await mqttTarget('sensorpipe-embedded', () => sensorpipeEmbedded(dir, values.profile ? join(dir, 'profile') : undefined)));
  if (values.profile && wanted.has('embedded')) saveProfile('embedded', results[0]?.steps);
  if (wanted.has('external')) results.push(await mqttTarget('sensorpipe-external', () => sensorpipeExternal(dir, values.profile ? join(dir, 'profile') : undefined)));
  if (values.profile && wanted.has('external')) saveProfile('external', results.at(-1)?.steps);
  if (wanted.has('node-red')) {
    if (nodeRedWhy) {
      console.log(`  node-red: not measured: ${nodeRedWhy}`);
      results.push({ name: 'node-red', measured: false, why: nodeRedWhy, steps: [], maxHeld: 0 });
    } else results.push(await mqttTarget('node-red', () => nodeRed(dir)));
  }
  if (wanted.has('fleet') && fleetSensors > 0) {
    // The big fleet: memory and latency of the embedded server with 10,000 sensors, with DuckDB's
    // defaults and with its buffer pool capped (config warehouse.duckdb.memoryLimit).
    const fleetRates = [Number(values['fleet-rate'])];
    const variants: [string, Record<string, string>][] = [
      ['defaults', {}],
      [`memoryLimit ${values['fleet-memory-limit']}`, { SENSORPIPE_WAREHOUSE__DUCKDB__MEMORY_LIMIT: values['fleet-memory-limit']! }],
    ];
    for (const [variant, env] of variants) {
      const r = await mqttTarget(`fleet-${fleetSensors}: ${variant}`, () => sensorpipeEmbedded(join(dir, `fleet-${fleet.length}`), undefined, env), { sensors: fleetSensors, rates: fleetRates });
      fleet.push({ variant, env, result: r });
    }
  }
  if (wanted.has('http')) {
    const target = await sensorpipeEmbedded(join(dir, 'http'), values.profile ? join(dir, 'profile') : undefined);
    current = target;
    try {
      http = await httpBulk(target, new Workload(sensors, values.seed!), stepSeconds);
      console.log(`  http-bulk            ${http.ackedReadingsPerS} readings/s acknowledged, ${http.queryableReadingsPerS ?? '-'} readings/s to queryable, missing ${http.missing}, cpu ${http.cpuSecondsPerMillionReadings} s/M, rss ${http.peakRssMb} MB`);
    } catch (err) {
      httpWhy = (err as Error).message;
    } finally {
      await target.stop();
      lastLog = target.log;
    }
    if (values.profile) saveProfile('http', http);
  }
  if (wanted.has('storage')) {
    console.log('  storage: the lake\'s bytes per reading for the UCI datasets and the synthetic fleet (bench/lake-storage.ts)');
    storage = await runStorageBench({ workDir: join(dir, 'storage'), log: (s) => console.log(`  storage: ${s}`), quick });
    saveStorageResults(storage, !quick && !values['no-docs']);
  }
  if (wanted.has('queries')) {
    console.log(`  queries: ${values['query-readings']} synthetic readings in ${values['query-engines']} (bench/queries.ts; loading 100 M takes a while)`);
    queries = await runQueryBench({
      readings: Number(values['query-readings']),
      sensors: 1000,
      engines: values['query-engines']!.split(',') as ('duckdb' | 'postgres')[],
      workDir: join(dir, 'queries'),
      log: (s) => console.log(`  queries: ${s}`),
    });
    await writeQueryResults(queries, quick || !!values['no-docs']);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const report = {
  date: startedAt.toISOString(),
  commit: (() => {
    try {
      return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })(),
  command,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtEnd: Math.round(loadavg()[0] * 100) / 100 },
  workload: { sensors, rates, stepSeconds, qos: 1, seed: values.seed, readingsPerMessage: 4, drainSeconds: DRAIN_MS / 1000 },
  targets: results,
  http,
  httpWhy,
  storage,
  queries,
  fleet: fleet.length ? { sensors: fleetSensors, rate: Number(values['fleet-rate']), variants: fleet } : null,
};
const resultsDir = new URL('./results/', import.meta.url).pathname;
mkdirSync(resultsDir, { recursive: true });
const json = JSON.stringify(report, null, 2) + '\n';
// Only a full run (not --quick, not --no-docs) replaces latest.json and the docs.
const official = !quick && !values['no-docs'];
if (!values['no-docs']) writeFileSync(join(resultsDir, `bench-${startedAt.toISOString().slice(0, 10)}${quick ? '-quick' : ''}.json`), json);
if (official) writeFileSync(join(resultsDir, 'latest.json'), json);
console.log('\n' + writeReport(report, official));
