// The ledger-checked fault harness (issue 7 item 1). Each iteration starts `sensorpipe start` as a
// child process on the same data directory, lets the simulator publish (5 % bad messages of every
// kind) while recording every acknowledged message in a ledger, and kills the server with SIGKILL:
// at a crash point inside the writer, the lake or the spool (src/core/faults.ts), or from outside
// at a random moment. After the last iteration a clean start replays the spool, takes one fresh
// message, and stops; then `checkLedgers` proves what the delivery contract promises.
// Used by test/e2e/chaos.test.ts (short) and scripts/chaos.ts (`npm run chaos`, long).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';
import { connectAsync } from 'mqtt';
import { createRng } from '../../src/sim/prng.js';
import { simulate, type LedgerLine } from '../../src/sim/simulate.js';
import { freePort, startChild } from './child-server.js';

export const CRASH_POINTS = [
  'writer.before-warehouse',
  'writer.after-warehouse',
  'writer.after-lake',
  'lake.before-rename',
  'lake.after-rename',
  'spool.commit',
  'writer.after-commit',
  'ingest.before-append',
];

export interface ChaosOptions {
  dir: string;
  iterations: number;
  /** Messages the simulator tries to send per iteration. */
  count: number;
  seed: string;
  log?: (line: string) => void;
}

export interface ChaosReport {
  iterations: { point: string; acked: number; signal: string | null }[];
  check: LedgerCheck;
}

export interface LedgerCheck {
  acked: number;
  ackedValidReadings: number;
  /** Acknowledged readings not stored exactly once with their value (must be 0). */
  missingReadings: number;
  /** Acknowledged bad messages without a quarantine row of their reason on their topic (must be 0). */
  missingQuarantine: number;
  readingsRows: number;
  lakeRows: number;
  lakeDistinct: number;
  /** Quarantined conflicting duplicates: the raw lake keeps them as received, so lakeRows = readingsRows + these. */
  conflictingDuplicates: number;
  parquetFiles: number;
  /** accepted - duplicates in ingest_counts, and quarantined items per reason vs quarantine rows. */
  accountingProblems: string[];
  freshStored: boolean;
}

function parquetFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? parquetFiles(p) : name.endsWith('.parquet') ? [p] : [];
  });
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const dataDir = join(opts.dir, 'data');
  const mqttPort = await freePort();
  const rng = createRng(`${opts.seed}/chaos`);
  const env = { SENSORPIPE_WRITER__FLUSH_INTERVAL_MS: '20', SENSORPIPE_WRITER__BATCH_MAX_RECORDS: '300' };
  const ledgers: string[] = [];
  const iterations: ChaosReport['iterations'] = [];

  for (let i = 0; i < opts.iterations; i++) {
    // Every third iteration is an outside kill at a random moment; the others hit a crash point.
    const outside = i % 3 === 2;
    const point = outside ? null : `${CRASH_POINTS[rng.int(0, CRASH_POINTS.length - 1)]}:${rng.int(1, 6)}`;
    const child = startChild({ dataDir, mqttPort, args: ['--demo', '--no-fleet'], env: point ? { ...env, SENSORPIPE_CRASH_AT: point } : env });
    await child.ready;
    const ledger = join(opts.dir, `ledger-${i}.jsonl`);
    ledgers.push(ledger);
    const sim = simulate({
      url: `mqtt://127.0.0.1:${mqttPort}`,
      sensors: 5,
      count: opts.count,
      badRatio: 0.05,
      demo: true,
      seed: `${opts.seed}-${i}`,
      sensorPrefix: `k${i}-`,
      ledger,
      ackTimeoutMs: 3000,
      maxInflight: 64,
    });
    if (outside) {
      // From outside, once a random share of the messages is acknowledged.
      const target = rng.int(Math.floor(opts.count / 10), Math.floor((opts.count * 9) / 10));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const acked = existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').length - 1 : 0;
        if (acked >= target) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      child.proc.kill('SIGKILL');
    }
    const report = await sim;
    // A crash point the run never reached: kill from outside after the simulator finished.
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    const exit = await child.exited;
    iterations.push({ point: point ?? 'outside kill', acked: report.acked, signal: exit.signal });
    log(`iteration ${i + 1}/${opts.iterations}: ${point ?? 'outside kill'}: ${report.acked} acknowledged, died by ${exit.signal ?? `exit ${exit.code}`}`);
  }

  // Clean start: the spool is replayed before the banner; one fresh message; clean stop.
  const last = startChild({ dataDir, mqttPort, args: ['--demo', '--no-fleet'], env });
  await last.ready;
  const fresh = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'chaos-fresh', reconnectPeriod: 0 });
  await fresh.publishAsync('sensors/chaos-fresh/telemetry', JSON.stringify({ ts: new Date().toISOString(), temperature: 19.25 }), { qos: 1 });
  await fresh.endAsync();
  last.proc.kill('SIGTERM');
  const exit = await last.exited;
  if (exit.code !== 0) throw new Error(`the clean restart did not stop cleanly (code ${exit.code}):\n${last.output().slice(-2000)}`);

  const check = await checkLedgers(dataDir, ledgers);
  return { iterations, check };
}

/** Reads the stopped server's warehouse and lake and checks them against every ledger line. */
export async function checkLedgers(dataDir: string, ledgerFiles: string[]): Promise<LedgerCheck> {
  const acked = ledgerFiles.flatMap((f) =>
    existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerLine) : [],
  );
  const db = await DuckDBInstance.create(join(dataDir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  const all = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];

  const stored = new Map<string, { value: number; n: number }>();
  for (const r of await all('select sensor_id, metric, epoch_ms(ts)::bigint ts, value, count(*) over (partition by sensor_id, metric, ts)::int n from readings')) {
    stored.set(`${r.sensor_id}|${r.metric}|${r.ts}`, { value: r.value as number, n: r.n as number });
  }
  let ackedValidReadings = 0;
  let missingReadings = 0;
  const wantQuarantine = new Map<string, number>();
  for (const l of acked) {
    if (l.expected === 'accepted') {
      for (const [metric, value] of Object.entries(l.readings ?? {})) {
        ackedValidReadings++;
        const s = stored.get(`${l.sensor}|${metric}|${Date.parse(l.ts!)}`);
        if (!s || s.value !== value || s.n !== 1) missingReadings++;
      }
    } else {
      const key = `${l.topic}|${l.expected}`;
      wantQuarantine.set(key, (wantQuarantine.get(key) ?? 0) + 1);
    }
  }
  const haveQuarantine = new Map<string, number>();
  for (const r of await all('select topic, reason, count(*)::int n from quarantine group by all')) haveQuarantine.set(`${r.topic}|${r.reason}`, r.n as number);
  let missingQuarantine = 0;
  for (const [key, n] of wantQuarantine) missingQuarantine += Math.max(0, n - (haveQuarantine.get(key) ?? 0));

  const accountingProblems: string[] = [];
  const counts = await all('select outcome, reason, sum(items)::bigint n from ingest_counts group by all');
  const sum = (o: string) => counts.filter((c) => c.outcome === o).reduce((s, c) => s + Number(c.n), 0);
  const [{ n: readingsRows }] = (await all('select count(*)::int n from readings')) as { n: number }[];
  if (sum('accepted') - sum('duplicate') !== readingsRows) {
    accountingProblems.push(`accepted ${sum('accepted')} - duplicates ${sum('duplicate')} != ${readingsRows} rows in readings`);
  }
  for (const r of await all('select reason, count(*)::int n from quarantine group by all')) {
    const counted = counts.filter((c) => c.outcome === 'quarantined' && c.reason === r.reason).reduce((s, c) => s + Number(c.n), 0);
    if (counted !== r.n) accountingProblems.push(`quarantined/${r.reason}: ${counted} counted, ${r.n} rows in quarantine`);
  }
  const [fresh] = await all("select value from readings where sensor_id = 'chaos-fresh'");
  const [{ n: conflictingDuplicates }] = (await all("select count(*)::int n from quarantine where reason = 'conflicting_duplicate'")) as { n: number }[];
  conn.closeSync();

  const files = parquetFiles(join(dataDir, 'lake'));
  for (const f of files) await parquetMetadataAsync(await asyncBufferFromFile(f)); // throws for a partial file
  const mem = await (await DuckDBInstance.create(':memory:')).connect();
  const lake = (
    await mem.runAndReadAll(
      `select count(*)::int n, count(distinct (sensor_id, metric, ts))::int d from read_parquet('${join(dataDir, 'lake')}/raw/**/*.parquet', hive_partitioning = true)`,
    )
  ).getRowObjects()[0] as { n: number; d: number };
  mem.closeSync();

  return {
    acked: acked.length,
    ackedValidReadings,
    missingReadings,
    missingQuarantine,
    readingsRows,
    lakeRows: lake.n,
    lakeDistinct: lake.d,
    conflictingDuplicates,
    parquetFiles: files.length,
    accountingProblems,
    freshStored: fresh?.value === 19.25,
  };
}
