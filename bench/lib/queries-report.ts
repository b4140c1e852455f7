/**
 * docs/performance-queries.md from a query-bench result: the machine and command, the query table
 * with DuckDB, PostgreSQL raw and PostgreSQL rollups side by side and their ratios, the 3 s target
 * per way, what loading and the rollups cost, and what it means for a user.
 */
import type { EngineResult, QueryBenchResult, QueryResult } from '../queries.js';
import type { QueryId } from './queries-sql.js';
import type { Timing } from './queries-timing.js';

const TARGET_MS = 3000;
const n = (x: number) => x.toLocaleString('en-US');
const ms = (t: Timing | undefined) =>
  !t ? '-' : t.error ? 'failed' : t.medianMs === null ? '-' : t.medianMs >= 10_000 ? `${(t.medianMs / 1000).toFixed(1)} s` : `${n(Math.round(t.medianMs))} ms`;
const coldOf = (t: Timing | undefined) => (!t || t.error ? '-' : t.coldMs >= 10_000 ? `${(t.coldMs / 1000).toFixed(1)} s` : `${n(Math.round(t.coldMs))} ms`);
const ratio = (a: Timing | undefined, b: Timing | undefined) => {
  if (!a?.medianMs || !b?.medianMs || a.error || b.error) return '-';
  const x = a.medianMs / b.medianMs;
  return `${x >= 10 ? x.toFixed(0) : x >= 0.1 ? x.toFixed(1) : x.toPrecision(1)}x`;
};
const sec = (msv: number) => (msv >= 120_000 ? `${(msv / 60_000).toFixed(1)} min` : `${(msv / 1000).toFixed(1)} s`);
const gb = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GB` : `${(b / 2 ** 20).toFixed(1)} MB`);

type Way = 'direct' | 'api';
const PAIRS: { title: string; raw: QueryId; rollup: QueryId }[] = [
  { title: 'hourly rollup over everything', raw: 'hourly_raw', rollup: 'hourly_rollup' },
  { title: 'one sensor, one day, 1-minute resolution', raw: 'day_1m_raw', rollup: 'day_1m_rollup' },
  { title: 'last value per sensor and metric', raw: 'last_raw', rollup: 'last_rollup' },
];

function q(e: EngineResult | undefined, id: QueryId): QueryResult | undefined {
  return e?.queries.find((x) => x.id === id);
}

export function renderQueryReport(r: QueryBenchResult): string {
  const duck = r.engines.find((e) => e.engine === 'duckdb');
  const pgr = r.engines.find((e) => e.engine === 'postgres');
  const L = r.layout;
  const full = L.readings >= 100_000_000;
  const out: string[] = [];
  out.push('# Query performance: DuckDB vs PostgreSQL raw vs PostgreSQL rollups', '');
  out.push(
    `What a BI user waits for over ${n(L.readings)} readings of ${n(L.sensors)} sensors, measured by \`bench/queries.ts\` (issue 8, item 4). ` +
      'Results: `bench/results/queries-latest.json` (every run time, the exact SQL). Written by the script; do not edit by hand.',
    '',
  );
  out.push('## Run', '');
  out.push(`- Command: \`${r.command}\` at commit ${r.commit}, ${r.startedAt.slice(0, 16).replace('T', ' ')} to ${r.finishedAt.slice(11, 16)} UTC.`);
  out.push(
    `- Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memGB} GB, Node ${r.machine.node}, DuckDB node-api ${r.machine.duckdb}` +
      `${r.machine.postgres ? `, PostgreSQL ${r.machine.postgres} (stock settings: shared_buffers 128 MB, work_mem 4 MB, 2 parallel workers per gather)` : ''}. ` +
      'The machine is shared: other work ran on the same 2 cores.',
  );
  out.push(
    `- Load average: ${r.loadAvgStart.map((x) => x.toFixed(1)).join(' / ')} at the start, ${r.engines.map((e) => `${e.loadAvgAfter.map((x) => x.toFixed(1)).join(' / ')} after ${e.engine}`).join(', ')} (1 / 5 / 15 min).`,
  );
  out.push(
    `- Data: ${n(L.sensors)} sensors × ${L.metrics.length} metrics (${L.metrics.join(', ')}) × ${n(L.minutes)} minutes, one reading per minute from ${new Date(L.startMs).toISOString().slice(0, 16)}Z ` +
      `= exactly ${n(L.readings)} readings, generated in the warehouse by SQL (values a deterministic function of sensor, metric and minute), in time order as the pipeline writes them; ` +
      "the product's warehouse schema and registry; the aggregate tables built by the product's own jobs (resample, rollup_1h, rollup_1d) window by window.",
  );
  out.push(
    `- Timing: each query once cold (right after opening the connection or starting the server; the OS page cache is not dropped), then ${r.runs} timed runs; the figure is their median ` +
      `(a query whose cold run took more than ${r.slowMs / 1000} s gets 2 timed runs). "Direct" = DuckDB node-api on the file (read-only) or a pg client; ` +
      '"API" = `sensorpipe start` on the same warehouse (jobs off), the request a BI user would make, including JSON transfer and parsing.',
    '',
  );
  out.push('## Queries (median)', '');
  out.push('| query | way | DuckDB raw | DuckDB rollups | PostgreSQL raw | PostgreSQL rollups | PG raw ÷ DuckDB raw | PG raw ÷ PG rollups | PG rollups ÷ DuckDB raw |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const p of PAIRS) {
    for (const way of ['direct', 'api'] as Way[]) {
      const dr = q(duck, p.raw)?.[way];
      const du = q(duck, p.rollup)?.[way];
      const pr = q(pgr, p.raw)?.[way];
      const pu = q(pgr, p.rollup)?.[way];
      out.push(`| ${p.title} | ${way === 'api' ? 'API' : 'direct'} | ${ms(dr)} | ${ms(du)} | ${ms(pr)} | ${ms(pu)} | ${ratio(pr, dr)} | ${ratio(pr, pu)} | ${ratio(pu, dr)} |`);
    }
  }
  out.push('');
  out.push(
    'Rows returned: hourly = 1 row of totals (the engine computes every (sensor, metric, hour) group: ' +
      `${n(L.sensors * L.metrics.length * Math.ceil(L.minutes / 60))} groups, more than the API's row cap, so only the totals travel); ` +
      `one day = ${n(Math.min(1440, L.minutes) * L.metrics.length)} rows/points; last value = ${n(L.sensors * L.metrics.length)} rows. ` +
      'API requests: hourly and last value through `POST /v1/sql`; the day through `GET /v1/readings` (resolution=raw and resolution=1m).',
    '',
  );
  out.push('Cold first runs:', '');
  out.push('| query | way | DuckDB raw | DuckDB rollups | PostgreSQL raw | PostgreSQL rollups |', '|---|---|---|---|---|---|');
  for (const p of PAIRS) {
    for (const way of ['direct', 'api'] as Way[]) {
      out.push(`| ${p.title} | ${way === 'api' ? 'API' : 'direct'} | ${coldOf(q(duck, p.raw)?.[way])} | ${coldOf(q(duck, p.rollup)?.[way])} | ${coldOf(q(pgr, p.raw)?.[way])} | ${coldOf(q(pgr, p.rollup)?.[way])} |`);
    }
  }
  out.push('');
  out.push(`\`GET /v1/sensors\` (the registry with readings count and last_seen per metric; a full scan of \`readings\`): DuckDB ${ms(duck?.sensorsEndpoint)}, PostgreSQL ${ms(pgr?.sensorsEndpoint)}` +
    `${[duck, pgr].some((e) => e?.sensorsEndpoint?.error) ? ` (failed: ${[duck, pgr].map((e) => e?.sensorsEndpoint?.error).filter(Boolean).join('; ')})` : ''}.`, '');

  out.push(`## Target: hourly rollup over 100 M readings <= 3 s`, '');
  if (!full) out.push(`This run has ${n(L.readings)} readings, not 100 M: the verdicts below are for this size only.`, '');
  out.push('| way | measured | met |', '|---|---|---|');
  const verdict = (label: string, t: Timing | undefined) => {
    if (!t) return;
    const met = t.error || t.medianMs === null ? 'not measured' : t.medianMs <= TARGET_MS ? (full ? 'met' : 'met (at this size)') : full ? 'not met' : 'not met (at this size)';
    out.push(`| ${label} | ${t.error ? `failed: ${t.error.slice(0, 120)}` : ms(t)} | ${met} |`);
  };
  for (const way of ['direct', 'api'] as Way[]) {
    const w = way === 'api' ? 'API' : 'direct';
    verdict(`DuckDB, from raw readings, ${w}`, q(duck, 'hourly_raw')?.[way]);
    verdict(`DuckDB, from readings_1h, ${w}`, q(duck, 'hourly_rollup')?.[way]);
    verdict(`PostgreSQL, from raw readings, ${w}`, q(pgr, 'hourly_raw')?.[way]);
    verdict(`PostgreSQL, from readings_1h, ${w}`, q(pgr, 'hourly_rollup')?.[way]);
  }
  out.push('');

  out.push('## What it costs: loading, rollups, disk', '');
  out.push('| | DuckDB | PostgreSQL |', '|---|---|---|');
  const row = (label: string, f: (e: EngineResult) => string) => out.push(`| ${label} | ${duck ? f(duck) : '-'} | ${pgr ? f(pgr) : '-'} |`);
  row('load (INSERT … SELECT in ~10 M-row chunks)', (e) => (e.load ? `${sec(e.load.loadMs)} (${n(e.load.rowsPerS)} readings/s)` : '-'));
  row('primary key + index build after the load, VACUUM ANALYZE', (e) => (e.load?.indexMs ? sec(e.load.indexMs) : e.engine === 'duckdb' ? 'none (no primary key by design)' : '-'));
  for (const lvl of ['resample', 'rollup_1h', 'rollup_1d']) {
    row(`${lvl} job over the whole range`, (e) => {
      const x = e.rollups?.levels.find((l) => l.level === lvl);
      return x ? `${sec(x.ms)} (${n(x.windows)} windows, ${n(x.rows)} rows, ${n(Math.round(x.ms / Math.max(1, x.windows)))} ms/window)` : '-';
    });
  }
  row('VACUUM ANALYZE of the aggregate tables', (e) => {
    const x = e.rollups?.levels.find((l) => l.level.startsWith('VACUUM'));
    return x ? sec(x.ms) : '-';
  });
  row('rollups in total', (e) => (e.rollups ? sec(e.rollups.totalMs) : '-'));
  row('size on disk (whole database / file)', (e) => (e.sizes ? gb(e.sizes.totalBytes) : '-'));
  for (const t of ['readings', 'readings_1m', 'readings_1h', 'readings_1d']) {
    row(`  ${t} (with indexes; heap only)`, (e) => (e.sizes?.tables[t] !== undefined ? `${gb(e.sizes.tables[t])}; ${gb(e.sizes.tables[`${t} (heap only)`])}` : '-'));
  }
  row('server start on the loaded warehouse', (e) => (e.apiStartMs !== undefined ? sec(e.apiStartMs) : '-'));
  out.push('');
  for (const e of r.engines) if (e.error) out.push(`**${e.engine} failed:** ${e.error}`, '');

  if (r.notes?.length) out.push('## Notes on this run', '', ...r.notes.map((x) => `- ${x}`), '');
  out.push('## What this means for a user', '');
  out.push(...meaning(r, duck, pgr), '');
  return out.join('\n');
}

function meaning(r: QueryBenchResult, duck: EngineResult | undefined, pgr: EngineResult | undefined): string[] {
  const lines: string[] = [];
  const med = (e: EngineResult | undefined, id: QueryId, way: Way = 'direct') => {
    const t = q(e, id)?.[way];
    return t && !t.error ? t.medianMs : null;
  };
  const f = (x: number | null) => (x === null ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${n(Math.round(x))} ms`);
  const dHr = med(duck, 'hourly_raw');
  const dHu = med(duck, 'hourly_rollup');
  const pHr = med(pgr, 'hourly_raw');
  const pHu = med(pgr, 'hourly_rollup');
  if (dHr !== null && dHu !== null) {
    lines.push(
      `- **Dashboards over the whole fleet: read the rollups, on either engine.** The hourly rollup over everything took ${f(dHr)} on DuckDB from raw readings ` +
        `(${dHr <= TARGET_MS ? 'within' : 'over'} the 3 s target) and ${f(dHu)} from \`readings_1h\`` +
        (pHr !== null && pHu !== null ? `; on PostgreSQL ${f(pHr)} from raw readings and ${f(pHu)} from \`readings_1h\` (${Math.round(pHr / pHu)}x).` : '.') +
        ' `readings_1h`/`readings_1d` and the views `v_hourly`, `v_daily` hold one row per sensor, metric and hour/day, so their cost does not grow with the reading rate.',
    );
  }
  if (dHr !== null && pHr !== null) {
    lines.push(
      `- **Ad-hoc scans of raw readings: DuckDB.** A full scan with GROUP BY was ${(pHr / dHr).toFixed(1)}x faster on DuckDB (columnar, compressed) than on PostgreSQL (row store, ` +
        `${pgr?.sizes?.tables.readings ? gb(pgr.sizes.tables.readings) : '?'} for readings with its indexes vs ${duck?.sizes ? gb(duck.sizes.totalBytes) : '?'} for the whole DuckDB file).`,
    );
  }
  const pDr = med(pgr, 'day_1m_raw');
  const dDr = med(duck, 'day_1m_raw');
  if (pDr !== null && dDr !== null) {
    lines.push(
      `- **One sensor, one day** is fast everywhere: PostgreSQL ${f(pDr)} from raw readings (primary-key range scan), DuckDB ${f(dDr)} (reads the day's row groups: the data is in time order and has no index on sensor). ` +
        `From \`readings_1m\`: PostgreSQL ${f(med(pgr, 'day_1m_rollup'))}, DuckDB ${f(med(duck, 'day_1m_rollup'))}. With one reading per minute \`readings_1m\` has as many rows as \`readings\`; it pays off for sensors faster than 1/min.`,
    );
  }
  const pLr = med(pgr, 'last_raw');
  const dLr = med(duck, 'last_raw');
  if (pLr !== null || dLr !== null) {
    lines.push(
      `- **Last value per sensor**: PostgreSQL ${f(pLr)} with one primary-key lookup per registered (sensor, metric) (\`CROSS JOIN LATERAL (… ORDER BY ts DESC LIMIT 1)\`); DuckDB ${f(dLr)} with arg_max over every reading, ` +
        `${f(med(duck, 'last_rollup'))} over \`readings_1h\` (as fresh as the last hourly rollup). On PostgreSQL do not write it with the portable \`lastBy\` (array_agg … ORDER BY), which sorts every reading.`,
    );
  }
  const se = [duck, pgr].filter((e): e is EngineResult => !!e?.sensorsEndpoint);
  if (se.length) {
    lines.push(
      `- **\`GET /v1/sensors\` scans every reading** (count and max(ts) per sensor and metric, 60 s limit): ${se
        .map((e) => `${e.engine === 'duckdb' ? 'DuckDB' : 'PostgreSQL'} ${e.sensorsEndpoint!.error ? `failed (${e.sensorsEndpoint!.error.slice(0, 80)})` : f(e.sensorsEndpoint!.medianMs)}`)
        .join(', ')}. It grows with the history; the registry page of a large installation waits that long.`,
    );
  }
  const pHrApi = med(pgr, 'hourly_raw', 'api');
  if (pHr !== null && pHrApi !== null && pHrApi > pHr * 1.3) {
    lines.push(
      `- **PostgreSQL through \`/v1/sql\` does not use parallel workers**: the API runs analyst SQL as a cursor (\`DECLARE … CURSOR\`, to cap the rows), and PostgreSQL never plans a cursor in parallel; ` +
        `the raw hourly scan took ${f(pHrApi)} through the API vs ${f(pHr)} directly.`,
    );
  }
  const costs = [duck, pgr].filter((e): e is EngineResult => !!e?.rollups);
  if (costs.length) {
    lines.push(
      `- **The rollups cost** ${costs.map((e) => `${sec(e.rollups!.totalMs)} on ${e.engine === 'duckdb' ? 'DuckDB' : 'PostgreSQL'}`).join(' and ')} to build for this whole history window by window ` +
        '(what the scheduler does when it catches up after an import or a long outage); in steady state the jobs compute one hour at a time.',
    );
  }
  lines.push(
    '- **Through the API** a query costs the engine time plus HTTP and JSON (compare the direct and API rows). `POST /v1/sql` caps rows (`sql.maxRows`, default 10,000) and time ' +
      '(`sql.timeoutMs`, default 10 s): a whole-fleet scan of raw readings at this size needs a higher `sql.timeoutMs` (this run: 900 s) or, better, the rollup tables.',
  );
  return lines;
}
