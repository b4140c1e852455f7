/**
 * Recall and false-positive rate of every quality check on real data with injected faults.
 *
 *   node --import tsx bench/quality-eval.ts [--quick] [--datasets=occupancy,air,synthetic]
 *     [--evals=clean,spike,stuck,drift,gaps,group,rules,ingest] [--out=bench/results/quality-eval.json]
 *
 * For each dataset (UCI Occupancy, UCI Air Quality, a synthetic room) and each fault kind, a fresh
 * DuckDB warehouse is loaded through the ingest path (validateMessage -> spool records ->
 * writeBatch), known faults are injected at known places (test/helpers/quality-faults.ts), the
 * quality jobs run over every window with the DEFAULT thresholds (only the window length, the
 * rate limits and the rule list are set per dataset), and the findings are matched to the ground
 * truth. Units (what one "positive" or "clean unit" is) are per check; see docs/quality.md.
 * Writes the JSON report and prints the markdown tables of docs/quality.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Job } from '../src/core/jobs.js';
import { completenessJob } from '../src/quality/checks/completeness.js';
import { driftJob } from '../src/quality/checks/drift.js';
import { groupJob } from '../src/quality/checks/group.js';
import { ingestJob } from '../src/quality/checks/ingest.js';
import { rateJob } from '../src/quality/checks/rate.js';
import { ruleJob } from '../src/quality/checks/rules.js';
import { spikeJob } from '../src/quality/checks/spike.js';
import { stuckJob } from '../src/quality/checks/stuck.js';
import { defaultQualityConfig, type QualityConfig } from '../src/quality/config.js';
import { airQualityDataset, seededRandom, occupancyDataset, syntheticDataset, type Dataset, type Sample, type SensorDef } from '../test/helpers/quality-data.js';
import {
  addDewPoint,
  cloneSamples,
  deriveGroup,
  injectDewPointViolations,
  injectDrift,
  injectGaps,
  injectGroupOffsets,
  injectSpikes,
  injectStuck,
  naturalGaps,
  type DriftFault,
  type GapFault,
  type GroupFault,
  type SpikeFault,
  type StuckFault,
} from '../test/helpers/quality-faults.js';
import { markdown, reliableFrom, type Score } from './quality-report.js';
import { jobContext, loadSamples, registerSensors, results, runWindows, tempWarehouse, type ResultRow } from '../test/helpers/quality-load.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--datasets='))?.slice('--datasets='.length).split(',');
const onlyEval = args.find((a) => a.startsWith('--evals='))?.slice('--evals='.length).split(',');
const outPath = args.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? 'bench/results/quality-eval.json';

// ---------------------------------------------------------------- plan per dataset

interface Plan {
  key: string;
  ds: Dataset;
  sensor: SensorDef;
  windowMs: number;
  /** Metrics faults are injected into (all measured metrics that are present most of the time). */
  metrics: string[];
  cfg: QualityConfig;
  stuckLengthsMs: number[];
  gapIntervals: number[];
  trials: number;
}

function plans(): Plan[] {
  const out: Plan[] = [];
  const want = (k: string) => !only || only.includes(k);
  const rules = { list: [{ expr: 'dew_point <= temperature' }] };
  if (want('occupancy')) {
    const ds = occupancyDataset();
    out.push({
      key: 'occupancy',
      ds,
      sensor: ds.sensors[0],
      windowMs: HOUR,
      metrics: ['temperature', 'humidity', 'light', 'co2', 'humidity_ratio'],
      cfg: defaultQualityConfig({ windowMs: HOUR, rules }),
      stuckLengthsMs: [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR],
      gapIntervals: [6, 12, 30, 60, 180],
      trials: quick ? 1 : 6,
    });
  }
  if (want('air')) {
    const ds = airQualityDataset();
    out.push({
      key: 'air',
      ds,
      sensor: ds.sensors[0],
      windowMs: DAY,
      // nmhc_gt is missing in ~90 % of the rows (kept in the data; completeness reports it).
      metrics: ['co_gt', 'pt08_s1_co', 'c6h6_gt', 'pt08_s2_nmhc', 'nox_gt', 'pt08_s3_nox', 'no2_gt', 'pt08_s4_no2', 'pt08_s5_o3', 'temperature', 'humidity', 'abs_humidity'],
      // Hourly averages: rate limits per hour of plausible change (10 °C/h, 30 %RH/h), in per-second units.
      cfg: defaultQualityConfig({ windowMs: DAY, rules, rateOfChange: { maxRatePerS: { temperature: 10 / 3600, humidity: 30 / 3600 } } }),
      stuckLengthsMs: [6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR],
      gapIntervals: [6, 12, 24, 48],
      trials: 1,
    });
  }
  if (want('synthetic')) {
    const ds = syntheticDataset(42);
    out.push({
      key: 'synthetic',
      ds,
      sensor: ds.sensors[0],
      windowMs: HOUR,
      metrics: ['temperature', 'humidity', 'co2', 'light'],
      cfg: defaultQualityConfig({ windowMs: HOUR, rules }),
      stuckLengthsMs: [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR],
      gapIntervals: [6, 12, 30, 60, 180],
      trials: quick ? 1 : 4,
    });
  }
  return out;
}

// ---------------------------------------------------------------- scoring

class Tally {
  positives = 0;
  detected = 0;
  detectedCritical = 0;
  clean = 0;
  fp = 0;
  fpCritical = 0;
  bySize = new Map<string, { positives: number; detected: number }>();
  byMetric = new Map<string, { positives: number; detected: number; clean: number; fp: number }>();
  private metricEntry(metric: string) {
    let e = this.byMetric.get(metric);
    if (!e) this.byMetric.set(metric, (e = { positives: 0, detected: 0, clean: 0, fp: 0 }));
    return e;
  }
  positive(found: boolean, critical: boolean, size?: string | number, metric?: string): void {
    this.positives++;
    if (found) this.detected++;
    if (critical) this.detectedCritical++;
    if (metric !== undefined) {
      const e = this.metricEntry(metric);
      e.positives++;
      if (found) e.detected++;
    }
    if (size !== undefined) {
      const k = String(size);
      const e = this.bySize.get(k) ?? { positives: 0, detected: 0 };
      e.positives++;
      if (found) e.detected++;
      this.bySize.set(k, e);
    }
  }
  cleanUnit(flagged: boolean, critical: boolean, metric?: string): void {
    this.clean++;
    if (flagged) this.fp++;
    if (critical) this.fpCritical++;
    if (metric !== undefined) {
      const e = this.metricEntry(metric);
      e.clean++;
      if (flagged) e.fp++;
    }
  }
  score(check: string, dataset: string, fault: string, unit: string, notes?: string): Score {
    const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10000) / 10000);
    const s: Score = {
      check,
      dataset,
      fault,
      unit,
      positives: this.positives,
      detected: this.detected,
      recall: ratio(this.detected, this.positives),
      detectedCritical: this.detectedCritical,
      clean: this.clean,
      falsePositives: this.fp,
      fpRate: ratio(this.fp, this.clean),
      falsePositivesCritical: this.fpCritical,
    };
    if (this.bySize.size > 0) {
      s.bySize = Object.fromEntries(
        [...this.bySize].sort((a, b) => Number(a[0]) - Number(b[0])).map(([k, v]) => [k, { ...v, recall: ratio(v.detected, v.positives) }]),
      );
    }
    if (this.byMetric.size > 0) {
      s.byMetric = Object.fromEntries(
        [...this.byMetric].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, { ...v, recall: ratio(v.detected, v.positives), fpRate: ratio(v.fp, v.clean) }]),
      );
    }
    if (notes) s.notes = notes;
    return s;
  }
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
function timesIn(detail: string): number[] {
  return (detail.match(ISO) ?? []).map((t) => Date.parse(t));
}

// ---------------------------------------------------------------- running

interface Run {
  rows: ResultRow[];
  windows: number[];
  /** Windows whose units are scored (all but the first and last, which the data covers partly). */
  scored: number[];
}

function windowsOf(samples: readonly Sample[], windowMs: number): number[] {
  const first = Math.floor(samples[0].ts / windowMs) * windowMs;
  const last = Math.ceil((samples[samples.length - 1].ts + 1) / windowMs) * windowMs;
  const out: number[] = [];
  for (let t = first; t < last; t += windowMs) out.push(t);
  return out;
}

async function runChecks(sensors: SensorDef[], samples: Sample[], jobs: Job[], windowMs: number): Promise<Run> {
  const sorted = [...samples].sort((a, b) => a.ts - b.ts);
  const t = await tempWarehouse(sorted[0].ts - DAY);
  try {
    await registerSensors(t.w, sensors);
    await loadSamples(t.w, sensors, sorted);
    const windows = windowsOf(sorted, windowMs);
    const ctx = jobContext(t.w, windows[windows.length - 1] + 2 * windowMs);
    for (const job of jobs) await runWindows(job, ctx, windows[0], windows[windows.length - 1] + windowMs);
    return { rows: await results(t.w), windows, scored: windows.slice(1, -1) };
  } finally {
    await t.cleanup();
  }
}

const log = (...a: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Rows indexed by check|sensor|metric|window. */
function index(rows: readonly ResultRow[]): Map<string, ResultRow[]> {
  const m = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const k = `${r.check}|${r.sensor_id}|${r.metric}|${Date.parse(r.window_start)}`;
    const l = m.get(k) ?? [];
    l.push(r);
    m.set(k, l);
  }
  return m;
}

function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 < b1 && b0 < a1;
}

// ---------------------------------------------------------------- the evaluations

async function evalSpikeAndRate(p: Plan, scores: Score[]): Promise<void> {
  const spike = new Tally();
  const rate = new Tally();
  const trials = Math.max(1, Math.ceil(p.trials / 2));
  for (let trial = 0; trial < trials; trial++) {
    const rnd = seededRandom(1000 + trial);
    const samples = cloneSamples(p.ds.samples);
    const faults = injectSpikes(samples, { rnd, sensorId: p.sensor.sensorId, metrics: p.metrics, specs: p.sensor.metrics, perMetric: quick ? 20 : 60, magnitudes: [2, 3, 4, 6, 8], minGap: 15 });
    log(p.key, 'spike trial', trial, faults.length, 'spikes');
    const run = await runChecks(p.ds.sensors, samples, [spikeJob(p.cfg), rateJob(p.cfg)], p.windowMs);
    const scoredFrom = run.scored[0];
    const scoredTo = run.scored[run.scored.length - 1] + p.windowMs;
    const spikeAt = new Map<string, ResultRow>();
    const rateAt = new Map<string, ResultRow>();
    for (const r of run.rows) {
      const ts = timesIn(r.detail)[0];
      (r.check === 'spike' ? spikeAt : rateAt).set(`${r.sensor_id}|${r.metric}|${ts}`, r);
    }
    const faultKeys = new Set(faults.map((f) => `${f.sensorId}|${f.metric}|${f.ts}`));
    const afterFault = new Set(faults.filter((f) => f.nextTs !== null).map((f) => `${f.sensorId}|${f.metric}|${f.nextTs}`));
    const limits = p.cfg.rateOfChange.maxRatePerS;
    for (const f of faults) {
      if (f.ts < scoredFrom || f.ts >= scoredTo) continue;
      const k = `${f.sensorId}|${f.metric}|${f.ts}`;
      const found = spikeAt.get(k);
      spike.positive(found !== undefined, found?.severity === 'critical', f.magnitude, f.metric);
      const limit = limits[f.metric];
      if (limit !== undefined) {
        const rin = f.prevTs !== null ? Math.abs(f.value - f.prevValue!) / ((f.ts - f.prevTs) / 1000) : 0;
        const rout = f.nextTs !== null ? Math.abs(f.nextValue! - f.value) / ((f.nextTs - f.ts) / 1000) : 0;
        if (Math.max(rin, rout) > limit) {
          const r = rateAt.get(k) ?? (f.nextTs !== null ? rateAt.get(`${f.sensorId}|${f.metric}|${f.nextTs}`) : undefined);
          rate.positive(r !== undefined, r?.severity === 'critical', f.magnitude);
        }
      }
    }
    for (const s of samples) {
      if (s.ts < scoredFrom || s.ts >= scoredTo) continue;
      for (const metric of Object.keys(s.values)) {
        const k = `${s.sensorId}|${metric}|${s.ts}`;
        if (!faultKeys.has(k)) {
          const r = spikeAt.get(k);
          spike.cleanUnit(r !== undefined, r?.severity === 'critical', metric);
        }
        if (limits[metric] !== undefined && !faultKeys.has(k) && !afterFault.has(k)) {
          const r = rateAt.get(k);
          rate.cleanUnit(r !== undefined, r?.severity === 'critical');
        }
      }
    }
  }
  scores.push(spike.score('spike', p.key, 'single-reading spike of m x the robust spread of the 24 h around it, m in {2,3,4,6,8}', 'reading'));
  scores.push(
    rate.score(
      'rate_of_change',
      p.key,
      'the same spikes, where the jump exceeds the rate limit',
      'reading',
      `limits per s: ${Object.entries(p.cfg.rateOfChange.maxRatePerS).map(([m, l]) => `${m} ${l.toPrecision(3)}`).join(', ')}`,
    ),
  );
}

async function evalStuck(p: Plan, scores: Score[]): Promise<void> {
  const tally = new Tally();
  const latencies: number[] = [];
  const hist = p.cfg.stuck.historyMs;
  for (let trial = 0; trial < p.trials; trial++) {
    const rnd = seededRandom(2000 + trial);
    const samples = cloneSamples(p.ds.samples);
    const faults = injectStuck(samples, {
      rnd,
      sensorId: p.sensor.sensorId,
      metrics: p.metrics,
      lengthsMs: p.stuckLengthsMs,
      warmupMs: p.cfg.stuck.minHistoryMs + p.windowMs,
      gapMs: hist + p.windowMs,
      restingShare: p.cfg.stuck.restingShare,
      perMetric: 1000,
    });
    log(p.key, 'stuck trial', trial, faults.length, 'episodes');
    const run = await runChecks(p.ds.sensors, samples, [stuckJob(p.cfg)], p.windowMs);
    scoreStuck(p, run, faults, tally, latencies);
  }
  latencies.sort((a, b) => a - b);
  const med = latencies.length ? latencies[Math.floor(latencies.length / 2)] : null;
  scores.push(
    tally.score(
      'stuck',
      p.key,
      `the sensor repeats one reading for L (bySize: L in hours); observable episodes only (>= 3 distinct real values, held value not resting)`,
      'episode / (pair, window)',
      med === null ? undefined : `median detection delay ${(med / HOUR).toFixed(1)} h after the episode start`,
    ),
  );
}

function scoreStuck(p: Plan, run: Run, faults: StuckFault[], tally: Tally, latencies: number[]): void {
  const firstTs = p.ds.samples[0].ts;
  const idx = index(run.rows);
  for (const f of faults) {
    const hits = run.windows.filter((w) => overlaps(w, w + p.windowMs, f.start, f.end + 1)).flatMap((w) => idx.get(`stuck|${f.sensorId}|${f.metric}|${w}`) ?? []);
    tally.positive(hits.length > 0, hits.some((h) => h.severity === 'critical'), f.lengthMs / HOUR, f.metric);
    if (hits.length > 0) latencies.push(Math.min(...hits.map((h) => Date.parse(h.window_end))) - f.start);
  }
  for (const w of run.scored) {
    if (w - firstTs < p.cfg.stuck.minHistoryMs) continue;
    for (const metric of p.metrics) {
      if (faults.some((f) => f.metric === metric && overlaps(w, w + p.windowMs, f.start, f.end + p.windowMs))) continue;
      const rows = idx.get(`stuck|${p.sensor.sensorId}|${metric}|${w}`) ?? [];
      tally.cleanUnit(rows.length > 0, rows.some((r) => r.severity === 'critical'), metric);
    }
  }
}

async function evalDrift(p: Plan, scores: Score[]): Promise<void> {
  const tally = new Tally();
  const latencies: number[] = [];
  const d = p.cfg.drift;
  const trials = p.key === 'air' ? 1 : p.trials * 2;
  for (let trial = 0; trial < trials; trial++) {
    const rnd = seededRandom(3000 + trial);
    const samples = cloneSamples(p.ds.samples);
    const faults = injectDrift(samples, {
      rnd,
      sensorId: p.sensor.sensorId,
      metrics: p.metrics,
      specs: p.sensor.metrics,
      rampMs: 2 * DAY,
      holdMs: 2 * DAY,
      warmupMs: d.minBaselineMs + d.recentMs,
      gapMs: d.baselineMs + d.recentMs,
      magnitudes: [2, 3, 4, 6, 8],
      perMetric: 1000,
    });
    log(p.key, 'drift trial', trial, faults.length, 'episodes');
    const run = await runChecks(p.ds.sensors, samples, [driftJob(p.cfg)], p.windowMs);
    scoreDrift(p, run, faults, tally, latencies);
  }
  latencies.sort((a, b) => a - b);
  const med = latencies.length ? latencies[Math.floor(latencies.length / 2)] : null;
  scores.push(
    tally.score(
      'drift',
      p.key,
      'offset ramping over 2 days to m x the spread of the week before, held 2 days, m in {2,3,4,6,8}',
      'episode / (pair, window)',
      med === null ? undefined : `median detection delay ${(med / HOUR).toFixed(0)} h after the ramp start`,
    ),
  );
}

function scoreDrift(p: Plan, run: Run, faults: DriftFault[], tally: Tally, latencies: number[]): void {
  const d = p.cfg.drift;
  const firstTs = p.ds.samples[0].ts;
  const idx = index(run.rows);
  for (const f of faults) {
    const hits = run.windows
      .filter((w) => w + p.windowMs > f.start && w + p.windowMs <= f.end + d.recentMs)
      .flatMap((w) => idx.get(`drift|${f.sensorId}|${f.metric}|${w}`) ?? []);
    tally.positive(hits.length > 0, hits.some((h) => h.severity === 'critical'), f.magnitude, f.metric);
    if (hits.length > 0) latencies.push(Math.min(...hits.map((h) => Date.parse(h.window_end))) - f.start);
  }
  for (const w of run.scored) {
    const end = w + p.windowMs;
    if (end - d.recentMs - firstTs < d.minBaselineMs) continue;
    for (const metric of p.metrics) {
      if (faults.some((f) => f.metric === metric && overlaps(end - d.recentMs - d.baselineMs, end, f.start, f.end))) continue;
      const rows = idx.get(`drift|${p.sensor.sensorId}|${metric}|${w}`) ?? [];
      tally.cleanUnit(rows.length > 0, rows.some((r) => r.severity === 'critical'), metric);
    }
  }
}

async function evalGaps(p: Plan, scores: Score[]): Promise<void> {
  const silent = new Tally();
  const complete = new Tally();
  const c = p.cfg.completeness;
  const intervalMs = p.sensor.intervalS * 1000;
  const rnd = seededRandom(4000);
  const { samples, faults } = injectGaps(cloneSamples(p.ds.samples), {
    rnd,
    sensorId: p.sensor.sensorId,
    count: quick ? 15 : 40,
    intervalMs,
    intervals: p.gapIntervals,
    minSpacingMs: 2 * p.windowMs,
    marginMs: 2 * p.windowMs,
  });
  log(p.key, 'gaps', faults.length);
  const run = await runChecks(p.ds.sensors, samples, [completenessJob(p.cfg)], p.windowMs);
  const idx = index(run.rows);
  const limitMs = c.silentIntervals * intervalMs;
  const metrics = Object.keys(p.sensor.metrics);
  // Silences already in the data (the original, before the injected gaps).
  const natural = new Map(metrics.map((m) => [m, naturalGaps(p.ds.samples, p.sensor.sensorId, m, limitMs)]));
  const silentRows = run.rows.filter((r) => r.check === 'silent');
  for (const f of faults) {
    if (f.start < run.scored[0] || f.end > run.scored[run.scored.length - 1] + p.windowMs) continue;
    const hits = silentRows.filter((r) => {
      const [a, b] = timesIn(r.detail);
      return b !== undefined && overlaps(a, b, f.start, f.end);
    });
    silent.positive(hits.length > 0, hits.some((h) => h.severity === 'critical'), Math.round((f.end - f.start) / intervalMs));
  }
  const injectedFor = (w: number) => faults.filter((f) => overlaps(w - limitMs, w + p.windowMs + limitMs, f.start, f.end));
  // Windows already incomplete in the data as it is (scattered missing values, not only long gaps).
  const originalCount = new Map<string, number>();
  for (const s of p.ds.samples) {
    const w = Math.floor(s.ts / p.windowMs) * p.windowMs;
    for (const m of Object.keys(s.values)) originalCount.set(`${m}|${w}`, (originalCount.get(`${m}|${w}`) ?? 0) + 1);
  }
  for (const w of run.scored) {
    const wEnd = w + p.windowMs;
    const expected = p.windowMs / intervalMs;
    for (const metric of metrics) {
      const nat =
        natural.get(metric)!.some((g) => overlaps(w - limitMs, wEnd + limitMs, g.from, g.to)) ||
        (originalCount.get(`${metric}|${w}`) ?? 0) < c.warnBelow * expected;
      const inj = injectedFor(w);
      const srows = idx.get(`silent|${p.sensor.sensorId}|${metric}|${w}`) ?? [];
      const crows = idx.get(`completeness|${p.sensor.sensorId}|${metric}|${w}`) ?? [];
      if (!nat && inj.length === 0) {
        silent.cleanUnit(srows.length > 0, srows.some((r) => r.severity === 'critical'));
        complete.cleanUnit(crows.some((r) => r.severity !== 'info'), crows.some((r) => r.severity === 'critical'));
      } else if (!nat) {
        // Completeness truth: the injected gaps removed at least (1 - warnBelow) of the expected readings.
        const missing = inj.reduce((a, f) => a + Math.max(0, Math.min(f.end, wEnd) - Math.max(f.start, w)), 0) / intervalMs;
        if (missing >= (1 - c.warnBelow) * expected + 1) complete.positive(crows.some((r) => r.severity !== 'info'), crows.some((r) => r.severity === 'critical'));
      }
    }
  }
  scores.push(silent.score('silent', p.key, 'the sensor sends nothing for N intervals (bySize: N)', 'gap / (pair, window)', `silentIntervals ${c.silentIntervals}; silences and incomplete windows already in the data are truth, not false positives, and are left out`));
  scores.push(complete.score('completeness', p.key, 'the same gaps, in windows where they remove more than 10 % of the expected readings', '(pair, window)', 'a count, not a statistical test: this row checks the counting (jitter, window edges)'));
}

async function evalGroup(p: Plan, scores: Score[]): Promise<void> {
  const tally = new Tally();
  const trials = p.key === 'air' ? 1 : Math.max(1, Math.ceil(p.trials / 2));
  for (let trial = 0; trial < trials; trial++) {
    const rnd = seededRandom(5000 + trial);
    const g = deriveGroup(p.ds.samples, { rnd, sensorId: p.sensor.sensorId, members: 5, prefix: `${p.key}-member`, metrics: p.metrics, intervalMs: p.sensor.intervalS * 1000, specs: p.sensor.metrics });
    const windows = windowsOf(g.samples, p.windowMs);
    const faults = injectGroupOffsets(g.samples, { rnd, memberIds: g.memberIds, metrics: p.metrics, noise: g.noise, specs: p.sensor.metrics, windows, windowMs: p.windowMs, durationWindows: 3, spacingWindows: 5, magnitudes: [4, 6, 8, 12, 16] });
    log(p.key, 'group trial', trial, faults.length, 'episodes');
    const sensors: SensorDef[] = g.memberIds.map((id) => ({ ...p.sensor, sensorId: id, location: `${p.key}-group` }));
    const run = await runChecks(sensors, g.samples, [groupJob(p.cfg)], p.windowMs);
    const idx = index(run.rows);
    // Windows where the metric has readings at all (the datasets have gaps of hours to days).
    const present = new Set(g.samples.flatMap((s) => Object.keys(s.values).map((m) => `${m}|${Math.floor(s.ts / p.windowMs) * p.windowMs}`)));
    for (const w of run.scored) {
      for (const metric of p.metrics) {
        if (!present.has(`${metric}|${w}`)) continue;
        for (const id of g.memberIds) {
          const rows = idx.get(`group_consistency|${id}|${metric}|${w}`) ?? [];
          const f = faults.find((x) => x.metric === metric && x.sensorId === id && overlaps(w, w + p.windowMs, x.start, x.end));
          if (!f) tally.cleanUnit(rows.length > 0, rows.some((r) => r.severity === 'critical'), metric);
          else if (f.observableWindows.includes(w) && f.start <= w && f.end >= w + p.windowMs) tally.positive(rows.length > 0, rows.some((r) => r.severity === 'critical'), f.magnitude, metric);
        }
      }
    }
  }
  scores.push(
    tally.score(
      'group_consistency',
      p.key,
      '5 sensors derived from the real one (own noise level, slow wander, calibration spread); one member offset by m x noise level for 3 windows, m in {4,6,8,12,16}',
      '(member, metric, window)',
    ),
  );
}

async function evalRules(p: Plan, scores: Score[]): Promise<void> {
  const tally = new Tally();
  if (!p.metrics.includes('temperature') || !p.metrics.includes('humidity')) return;
  const rnd = seededRandom(6000);
  const samples = cloneSamples(p.ds.samples);
  addDewPoint(samples);
  const windows = windowsOf(samples, p.windowMs);
  const chosen = windows.filter(() => rnd() < 0.1);
  const faults = injectDewPointViolations(samples, { rnd, sensorId: p.sensor.sensorId, windows: chosen, windowMs: p.windowMs });
  const sensor: SensorDef = { ...p.sensor, metrics: { ...p.sensor.metrics, dew_point: { unit: '°C', min: -80, max: 80 } } };
  const run = await runChecks([sensor], samples, [ruleJob(p.cfg)], p.windowMs);
  const idx = index(run.rows);
  for (const w of run.scored) {
    const rows = idx.get(`rule|${p.sensor.sensorId}|dew_point <= temperature|${w}`) ?? [];
    const injected = faults.some((f) => f.ts >= w && f.ts < w + p.windowMs);
    if (injected) tally.positive(rows.length > 0, rows.some((r) => r.severity === 'critical'));
    else tally.cleanUnit(rows.length > 0, rows.some((r) => r.severity === 'critical'));
  }
  scores.push(tally.score('rule', p.key, 'dew_point (Magnus, from temperature and humidity) reads temperature + 0.5..3 °C at 1-5 readings of 10 % of the windows', '(sensor, window)', 'rule dew_point <= temperature'));
}

async function evalIngest(p: Plan, scores: Score[]): Promise<void> {
  const q = new Tally();
  const dup = new Tally();
  const rnd = seededRandom(7000);
  const base = cloneSamples(p.ds.samples);
  const windows = windowsOf(base, p.windowMs);
  const qWindows = new Set(windows.filter(() => rnd() < 0.1));
  const dWindows = new Set(windows.filter((w) => !qWindows.has(w) && rnd() < 0.1));
  const out: Sample[] = [];
  const target = p.metrics.includes('humidity') ? 'humidity' : p.metrics[0];
  const wOf = (ts: number) => Math.floor(ts / p.windowMs) * p.windowMs;
  const qShare = new Map<number, number>();
  const dShare = new Map<number, number>();
  for (const w of qWindows) qShare.set(w, 0.02 + 0.18 * rnd());
  for (const w of dWindows) dShare.set(w, 0.1 + 0.2 * rnd());
  const items = new Map<number, { all: number; bad: number }>();
  const dupItems = new Map<number, number>();
  for (const s of base) {
    const w = wOf(s.ts);
    const e = items.get(w) ?? { all: 0, bad: 0 };
    e.all += Object.keys(s.values).length;
    if (qShare.has(w) && rnd() < qShare.get(w)! && s.values[target] !== undefined) {
      s.values[target] = (p.sensor.metrics[target].max ?? 100) * 2 + 1;
      e.bad++;
    }
    items.set(w, e);
    out.push(s);
    if (dShare.has(w) && rnd() < dShare.get(w)!) {
      out.push({ ...s, values: { ...s.values } });
      dupItems.set(w, (dupItems.get(w) ?? 0) + Object.keys(s.values).length);
    }
  }
  // Truth: the duplicates (what the check rates: duplicates / accepted) reach the warning level.
  for (const w of [...dWindows]) {
    const all = (items.get(w)?.all ?? 0) + (dupItems.get(w) ?? 0);
    if (all === 0 || (dupItems.get(w) ?? 0) / all < p.cfg.ingest.duplicateWarn) dWindows.delete(w);
  }
  // Truth: the share of quarantined readings (what the check rates) reaches the warning level.
  for (const w of [...qWindows]) {
    const e = items.get(w);
    if (!e || e.bad / e.all < p.cfg.ingest.quarantineWarn) qWindows.delete(w);
  }
  const run = await runChecks(p.ds.sensors, out, [ingestJob(p.cfg)], p.windowMs);
  const idx = index(run.rows);
  for (const w of run.scored) {
    // receivedAt = ts + 2 s: a reading in the last 2 s of a window arrives in the next one; those windows are ambiguous and skipped.
    const qRows = idx.get(`quarantine_rate|${p.sensor.sensorId}|null|${w}`) ?? [];
    const dRows = idx.get(`duplicate_rate|null|null|${w}`) ?? [];
    if (qWindows.has(w)) q.positive(qRows.length > 0, qRows.some((r) => r.severity === 'critical'));
    else if (!qShare.has(w) && !qShare.has(w - p.windowMs)) q.cleanUnit(qRows.length > 0, qRows.some((r) => r.severity === 'critical'));
    if (dWindows.has(w)) dup.positive(dRows.length > 0, dRows.some((r) => r.severity === 'critical'));
    else if (!dShare.has(w) && !dShare.has(w - p.windowMs)) dup.cleanUnit(dRows.length > 0, dRows.some((r) => r.severity === 'critical'));
  }
  scores.push(q.score('quarantine_rate', p.key, `2-20 % of the messages in 10 % of the windows carry an out-of-range ${target} (positive: windows where that is >= quarantineWarn of the readings)`, '(sensor, window)'));
  scores.push(dup.score('duplicate_rate', p.key, '10-30 % of the messages in 10 % of the windows are sent twice (positive: windows with data where that is >= duplicateWarn of the accepted readings)', '(source, window)'));
}

/** Findings on the data as it is (no injected fault), by check and severity: what an operator would see. */
async function cleanFindings(p: Plan): Promise<Record<string, Record<string, number>>> {
  const jobs = [completenessJob(p.cfg), spikeJob(p.cfg), stuckJob(p.cfg), rateJob(p.cfg), driftJob(p.cfg)];
  const run = await runChecks(p.ds.sensors, cloneSamples(p.ds.samples), jobs, p.windowMs);
  const out: Record<string, Record<string, number>> = {};
  for (const r of run.rows) {
    out[r.check] ??= {};
    out[r.check][r.severity] = (out[r.check][r.severity] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const t0 = Date.now();
  const scores: Score[] = [];
  const clean: Record<string, Record<string, Record<string, number>>> = {};
  const datasets: Record<string, unknown> = {};
  for (const p of plans()) {
    datasets[p.key] = {
      name: p.ds.name,
      samples: p.ds.samples.length,
      readings: p.ds.samples.reduce((a, s) => a + Object.keys(s.values).length, 0),
      from: new Date(p.ds.samples[0].ts).toISOString(),
      to: new Date(p.ds.samples[p.ds.samples.length - 1].ts).toISOString(),
      intervalS: p.sensor.intervalS,
      windowMs: p.windowMs,
      metrics: p.metrics,
    };
    const evals: [string, () => Promise<unknown>][] = [
      ['clean', async () => (clean[p.key] = await cleanFindings(p))],
      ['spike', () => evalSpikeAndRate(p, scores)],
      ['stuck', () => evalStuck(p, scores)],
      ['drift', () => evalDrift(p, scores)],
      ['gaps', () => evalGaps(p, scores)],
      ['group', () => evalGroup(p, scores)],
      ['rules', () => evalRules(p, scores)],
      ['ingest', () => evalIngest(p, scores)],
    ];
    for (const [name, fn] of evals) {
      if (onlyEval && !onlyEval.includes(name)) continue;
      log(p.key, name);
      await fn();
    }
  }
  const order = ['completeness', 'silent', 'spike', 'stuck', 'rate_of_change', 'drift', 'group_consistency', 'rule', 'quarantine_rate', 'duplicate_rate'];
  scores.sort((a, b) => order.indexOf(a.check) - order.indexOf(b.check) || a.dataset.localeCompare(b.dataset));
  for (const s of scores) if (s.bySize) s.recall95From = reliableFrom(s);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    seconds: Math.round((Date.now() - t0) / 1000),
    config: 'defaults (src/quality/config.ts); per dataset only windowMs, rateOfChange.maxRatePerS (air: hourly averages) and rules.list',
    datasets,
    scores,
    cleanFindings: clean,
  };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(markdown(scores));
  console.log(`\nclean-data findings (no injected fault): ${JSON.stringify(clean)}`);
  log(`done in ${report.seconds} s, wrote ${outPath}`);
}

await main();
