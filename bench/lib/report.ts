/**
 * The bench report: a markdown table with every figure and every ratio against the targets of
 * issue 8, written into docs/performance.md between the BENCH markers, and a bar chart of the
 * highest rate held per target (docs/img/bench-throughput.svg).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpBulkResult } from './http-bulk.js';
import type { StepResult } from './measure.js';
import { queryChecks, storageChecks, type Check } from './report-absolute.js';
import type { StorageBenchResult } from '../lake-storage.js';
import type { QueryBenchResult } from '../queries.js';

export interface BenchReport {
  date: string;
  commit: string;
  command: string;
  machine: { cpu: string; cores: number; memoryGb: number; node: string; loadAverageAtEnd: number };
  workload: { sensors: number; rates: number[]; stepSeconds: number; seed?: string; readingsPerMessage: number; drainSeconds: number };
  targets: { name: string; measured: boolean; why?: string; steps: StepResult[]; maxHeld: number }[];
  http: HttpBulkResult | null;
  httpWhy: string | null;
  /** The embedded server with the big fleet, with DuckDB's defaults and with a capped buffer pool. */
  /** Measured in this run (--targets storage / queries); else the table reads their latest results file. */
  storage?: StorageBenchResult | null;
  queries?: QueryBenchResult | null;
  fleet?: { sensors: number; rate: number; variants: { variant: string; env: Record<string, string>; result: BenchReport['targets'][number] & { warmupSeconds?: number } }[] } | null;
}

const DOC = fileURLToPath(new URL('../../docs/performance.md', import.meta.url));
const SVG = fileURLToPath(new URL('../../docs/img/bench-throughput.svg', import.meta.url));
const START = '<!-- BENCH:START (written by npm run bench) -->';
const END = '<!-- BENCH:END -->';

const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n.toLocaleString('en-US'));

function heldStep(t: BenchReport['targets'][number]): StepResult | undefined {
  return t.steps.filter((s) => s.held).at(-1);
}

function checks(r: BenchReport): Check[] {
  const by = (n: string) => r.targets.find((t) => t.name === n);
  const out: Check[] = [];
  const ratio = (a: string, b: string, want: number, label: string) => {
    const x = by(a);
    const y = by(b);
    if (!x?.measured || !y?.measured || !y.maxHeld) {
      out.push({ target: label, measured: `not measured (${!x?.measured ? a : b}: ${(!x?.measured ? x?.why : y?.why) ?? (y?.maxHeld === 0 ? 'held no step' : 'not in this run')})`, ratio: '-', met: '-' });
      return;
    }
    const q = x.maxHeld / y.maxHeld;
    const capped = y.maxHeld === r.workload.rates.at(-1);
    out.push({
      target: label,
      measured: `${fmt(x.maxHeld)} vs ${fmt(y.maxHeld)} msg/s held${capped ? ` (${b} held the top step, so its real maximum is higher: the ratio is an upper bound)` : ''}`,
      ratio: `${q.toFixed(2)}x`,
      met: q >= want ? 'yes' : 'no',
    });
  };
  ratio('sensorpipe-embedded', 'aedes-ceiling', 0.7, 'embedded >= 0.7x Aedes ceiling');
  ratio('sensorpipe-external', 'bare-subscriber', 0.8, 'external >= 0.8x bare subscriber');
  ratio('sensorpipe-embedded', 'node-red', 5, 'embedded >= 5x Node-RED');
  ratio('sensorpipe-external', 'node-red', 5, 'external >= 5x Node-RED');
  if (r.http) {
    out.push({ target: 'HTTP bulk >= 300,000 readings/s', measured: `${fmt(r.http.ackedReadingsPerS)} readings/s acknowledged (${fmt(r.http.queryableReadingsPerS)} to queryable)`, ratio: `${(r.http.ackedReadingsPerS / 300_000).toFixed(2)}x`, met: r.http.ackedReadingsPerS >= 300_000 ? 'yes' : 'no' });
  } else out.push({ target: 'HTTP bulk >= 300,000 readings/s', measured: `not measured (${r.httpWhy ?? 'not in this run'})`, ratio: '-', met: '-' });
  for (const n of ['sensorpipe-embedded', 'sensorpipe-external']) {
    const s = by(n)?.steps.find((x) => x.offered === 10_000);
    out.push({
      target: `${n}: p99 <= 1 s at 10,000 msg/s`,
      measured: s ? `p99 ${fmt(s.p99Ms)} ms (${s.held ? 'step held' : 'step NOT held: ' + s.why})` : 'not measured (no 10,000 msg/s step reached)',
      ratio: s?.p99Ms != null ? `${(s.p99Ms / 1000).toFixed(2)}x of the bound` : '-',
      met: s?.p99Ms != null ? (s.held && s.p99Ms <= 1000 ? 'yes' : 'no') : '-',
    });
  }
  const fleet = r.fleet;
  if (!fleet) {
    out.push({ target: 'memory <= 512 MB with 10,000 sensors (embedded)', measured: 'not measured (no fleet run: add fleet to --targets, --fleet-sensors 10000)', ratio: '-', met: '-' });
  }
  for (const v of fleet?.variants ?? []) {
    const s = v.result.steps[0];
    const label = `${fmt(fleet!.sensors)} sensors at ${fmt(fleet!.rate)} msg/s, ${v.variant}`;
    if (!s) {
      out.push({ target: `memory <= 512 MB (${label})`, measured: `not measured (${v.result.why ?? 'no step'})`, ratio: '-', met: '-' });
      continue;
    }
    out.push({
      target: `memory <= 512 MB (${label})`,
      measured: `peak RSS ${fmt(s.peakRssMb)} MB (${s.held ? 'step held' : 'step NOT held: ' + s.why})`,
      ratio: `${(s.peakRssMb / 512).toFixed(2)}x of the bound`,
      met: s.held && s.peakRssMb <= 512 ? 'yes' : 'no',
    });
    out.push({
      target: `p99 <= 1 s at 10,000 msg/s (${label})`,
      measured: `p99 ${fmt(s.p99Ms)} ms, p50 ${fmt(s.p50Ms)} ms (${s.held ? 'step held' : 'step NOT held: ' + s.why})`,
      ratio: s.p99Ms != null ? `${(s.p99Ms / 1000).toFixed(2)}x of the bound` : '-',
      met: s.p99Ms != null && fleet!.rate >= 10_000 ? (s.held && s.p99Ms <= 1000 ? 'yes' : 'no') : '-',
    });
  }
  out.push(...storageChecks(r.storage ?? null), ...queryChecks(r.queries ?? null));
  return out;
}

export function markdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC at commit ${r.commit}: \`${r.command}\``,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}; load average at the end ${m.loadAverageAtEnd} (a shared machine: the load generator and every target share the same ${m.cores} cores).`,
    `Workload: ${fmt(r.workload.sensors)} sensors, ~130-byte JSON messages with ${r.workload.readingsPerMessage} readings and a per-sensor seq, QoS 1, seed \`${r.workload.seed}\`; steps ${r.workload.rates.map(fmt).join(', ')} msg/s of ${r.workload.stepSeconds} s each; a step is held when the generator got the rate out, every PUBACK came back, and every (sensor, seq) was queryable within ${r.workload.drainSeconds} s after the step.`,
    '',
    '### Targets and ratios',
    '',
    '| target | measured | ratio | met |',
    '|---|---|---|---|',
    ...checks(r).map((c) => `| ${c.target} | ${c.measured} | ${c.ratio} | ${c.met} |`),
    '',
    '### Per target (figures at the highest step held; the step after it shows why it stopped)',
    '',
    '| target | highest rate held (msg/s) | readings/s | p50 ms | p99 ms | CPU s per M readings | peak RSS MB | next step |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const t of r.targets) {
    if (!t.measured) {
      lines.push(`| ${t.name} | not measured: ${t.why ?? ''} | | | | | | |`);
      continue;
    }
    const h = heldStep(t);
    const after = t.steps.find((s) => !s.held);
    lines.push(
      `| ${t.name} | ${fmt(t.maxHeld)} | ${fmt(h ? h.throughput * r.workload.readingsPerMessage : null)} | ${fmt(h?.p50Ms)} | ${fmt(h?.p99Ms)} | ${fmt(h?.cpuSecondsPerMillionReadings)} | ${fmt(h?.peakRssMb)} | ${after ? `${fmt(after.offered)}: ${after.why} (sent ${fmt(after.achieved)}/s, queryable ${fmt(after.throughput)}/s, p99 ${fmt(after.p99Ms)} ms)` : 'top step held'} |`,
    );
  }
  if (r.http) {
    const h = r.http;
    lines.push(`| http-bulk (${fmt(h.batchRecords)} records per NDJSON POST, ${h.concurrency} concurrent, ${h.seconds} s) | - | ${fmt(h.ackedReadingsPerS)} acknowledged, ${fmt(h.queryableReadingsPerS)} to queryable | | | ${fmt(h.cpuSecondsPerMillionReadings)} | ${fmt(h.peakRssMb)} | ${fmt(h.records)} records; not queryable at the end ${fmt(h.missing)}, failed requests ${h.failedRequests} |`);
  }
  for (const v of r.fleet?.variants ?? []) {
    const t = v.result;
    const st = t.steps[0];
    lines.push(
      t.measured && st
        ? `| ${t.name} (warm-up ${fmt(t.warmupSeconds)} s) | ${st.held ? fmt(st.offered) : 'none'} | ${fmt(st.throughput * r.workload.readingsPerMessage)} | ${fmt(st.p50Ms)} | ${fmt(st.p99Ms)} | ${fmt(st.cpuSecondsPerMillionReadings)} | ${fmt(st.peakRssMb)} | ${st.held ? 'held' : st.why} |`
        : `| ${t.name} | not measured: ${t.why ?? ''} | | | | | | |`,
    );
  }
  lines.push('', '![Highest rate held per target](img/bench-throughput.svg)', '', '### Every step', '', '| target | offered | sent/s | queryable/s | not queryable 15 s after the step | p50 ms | p99 ms | CPU s/M | RSS MB | result |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const t of [...r.targets, ...(r.fleet?.variants ?? []).map((v) => v.result)]) for (const s of t.steps) lines.push(`| ${t.name} | ${fmt(s.offered)} | ${fmt(s.achieved)} | ${fmt(s.throughput)} | ${fmt(s.missing)} | ${fmt(s.p50Ms)} | ${fmt(s.p99Ms)} | ${fmt(s.cpuSecondsPerMillionReadings)} | ${fmt(s.peakRssMb)} | ${s.held ? 'held' : s.why} |`);
  return lines.join('\n');
}

function svg(r: BenchReport): string {
  const bars = r.targets.map((t) => ({ name: t.name, v: t.measured ? t.maxHeld : 0, note: t.measured ? '' : ' (not measured)' }));
  const max = Math.max(1, ...r.workload.rates);
  const w = 720;
  const rowH = 34;
  const left = 170;
  const h = 50 + bars.length * rowH;
  const scale = (v: number) => ((w - left - 110) * v) / max;
  const rows = bars
    .map((b, i) => {
      const y = 40 + i * rowH;
      const color = b.name.startsWith('sensorpipe') ? '#2b6cb0' : b.name === 'node-red' ? '#c05621' : '#718096';
      return `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${b.name}</text><rect x="${left}" y="${y}" width="${scale(b.v).toFixed(1)}" height="22" fill="${color}"/><text x="${left + scale(b.v) + 6}" y="${y + 16}">${b.v.toLocaleString('en-US')} msg/s${b.note}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-weight="bold">Highest rate held with zero loss, QoS 1, ${r.workload.sensors.toLocaleString('en-US')} sensors (${r.date.slice(0, 10)}; steps up to ${max.toLocaleString('en-US')} msg/s)</text>
${rows}
</svg>
`;
}

/** Returns the markdown; with `write`, also puts it into docs/performance.md and the SVG next to it. */
export function writeReport(r: BenchReport, write: boolean): string {
  const md = markdown(r);
  if (!write) return md;
  mkdirSync(fileURLToPath(new URL('../../docs/img/', import.meta.url)), { recursive: true });
  writeFileSync(SVG, svg(r));
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : `# Performance\n\n${START}\n${END}\n`;
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  const next = a >= 0 && b > a ? doc.slice(0, a + START.length) + '\n' + md + '\n' + doc.slice(b) : doc + `\n${START}\n${md}\n${END}\n`;
  writeFileSync(DOC, next);
  return md;
}
