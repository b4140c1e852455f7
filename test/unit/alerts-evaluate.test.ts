// The alert state machine, grouping and rules as pure logic, driven by a fake clock (plain numbers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertsConfigSchema, type AlertRulesConfig } from '../../src/alerting/config.js';
import { evaluateAlerts, markNotified, type EvaluationResult } from '../../src/alerting/evaluate.js';
import { observe, type Signals } from '../../src/alerting/rules.js';
import { LatencyTracker } from '../../src/alerting/latency-tracker.js';
import { renderNotice } from '../../src/alerting/render.js';
import type { AlertSnapshot, Observation } from '../../src/alerting/types.js';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const MIN = 60_000;
const REPEAT = 4 * 3_600_000;

function rules(over: Record<string, unknown> = {}): AlertRulesConfig {
  return alertsConfigSchema.parse({ rules: over }).rules;
}
const silent = (...ids: string[]): Observation[] => ids.map((id) => ({ labels: { sensor_id: id }, value: 600, threshold: 100, summary: `sensor ${id} silent` }));

/** Runs one evaluation and delivers every due notice (as a notifier that always works would). */
function step(snap: AlertSnapshot, obs: Parameters<typeof evaluateAlerts>[1], r: AlertRulesConfig, now: number): { snap: AlertSnapshot; res: EvaluationResult } {
  const res = evaluateAlerts(snap, obs, r, now, REPEAT);
  let groups = snap.groups;
  for (const n of res.due) groups = markNotified(groups, n, now);
  return { snap: { alerts: res.alerts, groups }, res };
}

test('pending becomes firing after `for`, is notified once, repeats after the repeat interval, resolves once', () => {
  const r = rules({ pipeline_lag: { forS: 120 } });
  const lag = [{ labels: {}, value: 400, threshold: 300, summary: 'pipeline lag 7 min' }];
  let s: AlertSnapshot = { alerts: [], groups: [] };

  let x = step(s, { pipeline_lag: lag }, r, T0);
  assert.deepEqual(x.res.alerts.map((a) => [a.id, a.state]), [['pipeline_lag', 'pending']]);
  assert.equal(x.res.due.length, 0, 'pending alerts are not notified');
  s = x.snap;

  x = step(s, { pipeline_lag: lag }, r, T0 + 1 * MIN);
  assert.equal(x.res.alerts[0].state, 'pending', 'not yet held for 2 minutes');
  s = x.snap;

  x = step(s, { pipeline_lag: lag }, r, T0 + 2 * MIN);
  assert.equal(x.res.alerts[0].state, 'firing');
  assert.equal(x.res.alerts[0].firedAt, T0 + 2 * MIN);
  assert.equal(x.res.alerts[0].activeSince, T0);
  assert.deepEqual(x.res.due.map((d) => [d.key, d.status, d.reason]), [['pipeline_lag', 'firing', 'new']]);
  s = x.snap;

  x = step(s, { pipeline_lag: lag }, r, T0 + 3 * MIN);
  assert.equal(x.res.due.length, 0, 'no repeat before the repeat interval');
  s = x.snap;

  x = step(s, { pipeline_lag: lag }, r, T0 + 2 * MIN + REPEAT);
  assert.deepEqual(x.res.due.map((d) => d.reason), ['repeat']);
  s = x.snap;

  x = step(s, { pipeline_lag: [] }, r, T0 + 2 * MIN + REPEAT + MIN);
  assert.deepEqual(x.res.alerts.map((a) => [a.state, a.resolvedAt]), [['resolved', T0 + 2 * MIN + REPEAT + MIN]]);
  assert.deepEqual(x.res.due.map((d) => [d.status, d.alerts.length]), [['resolved', 1]]);
  assert.deepEqual(x.res.events.map((e) => [e.from, e.to]), [['firing', 'resolved']]);
  s = x.snap;
  assert.equal(s.groups.length, 0);

  x = step(s, { pipeline_lag: [] }, r, T0 + 2 * MIN + REPEAT + 2 * MIN);
  assert.equal(x.res.due.length, 0, 'resolved is notified once');
});

test('a pending alert that clears is dropped without any notification', () => {
  const r = rules({ completeness: { forS: 900 } });
  const obs = [{ labels: { sensor_id: 's1' }, value: 0.5, threshold: 0.8, summary: 'low' }];
  let x = step({ alerts: [], groups: [] }, { completeness: obs }, r, T0);
  x = step(x.snap, { completeness: [] }, r, T0 + MIN);
  assert.deepEqual(x.res.alerts, []);
  assert.deepEqual(x.res.events.map((e) => [e.from, e.to]), [['pending', 'inactive']]);
  assert.equal(x.res.due.length, 0);
});

test('unknown observations (null) leave the alerts alone; a disabled rule resolves them', () => {
  const r = rules();
  let x = step({ alerts: [], groups: [] }, { sensor_silent: silent('a') }, r, T0);
  assert.equal(x.res.alerts[0].state, 'firing');
  x = step(x.snap, { sensor_silent: null }, r, T0 + MIN);
  assert.equal(x.res.alerts[0].state, 'firing');
  assert.equal(x.res.due.length, 0);
  const off = rules({ sensor_silent: { enabled: false } });
  x = step(x.snap, { sensor_silent: silent('a') }, off, T0 + 2 * MIN);
  assert.equal(x.res.alerts[0].state, 'resolved');
});

test('grouping: one notification per group; a sensor joining a notified group sends it again', () => {
  const byRule = rules();
  let x = step({ alerts: [], groups: [] }, { sensor_silent: silent('a', 'b', 'c') }, byRule, T0);
  assert.equal(x.res.due.length, 1);
  assert.deepEqual(x.res.due[0].alerts.map((a) => a.labels.sensor_id), ['a', 'b', 'c']);
  x = step(x.snap, { sensor_silent: silent('a', 'b') }, byRule, T0 + MIN);
  assert.equal(x.res.due.length, 0, 'one of three resolving does not notify the group');
  x = step(x.snap, { sensor_silent: silent('a', 'b', 'd') }, byRule, T0 + 2 * MIN);
  assert.deepEqual(x.res.due.map((d) => [d.reason, d.alerts.length]), [['changed', 3]]);
  x = step(x.snap, { sensor_silent: silent('a', 'd') }, byRule, T0 + 3 * MIN);
  assert.equal(x.res.due.length, 0);
  x = step(x.snap, { sensor_silent: silent('a', 'b', 'd') }, byRule, T0 + 4 * MIN);
  assert.deepEqual(x.res.due.map((d) => [d.reason, d.alerts.length]), [['changed', 3]], 'b resolved and fired again: the group hears of it');
  x = step(x.snap, { sensor_silent: silent('a', 'b', 'd') }, byRule, T0 + 5 * MIN);
  assert.equal(x.res.due.length, 0);

  const perSensor = rules({ sensor_silent: { groupBy: ['rule', 'sensor_id'] } });
  const y = step({ alerts: [], groups: [] }, { sensor_silent: silent('a', 'b', 'c') }, perSensor, T0);
  assert.deepEqual(y.res.due.map((d) => d.key).sort(), ['sensor_silent{sensor_id=a}', 'sensor_silent{sensor_id=b}', 'sensor_silent{sensor_id=c}']);
});

test('a notice that was not delivered stays due at the next evaluation', () => {
  const r = rules();
  const first = evaluateAlerts({ alerts: [], groups: [] }, { job_failed: [{ labels: { job: 'resample' }, value: null, threshold: null, summary: 'job resample failed' }] }, r, T0, REPEAT);
  assert.equal(first.due.length, 1);
  // not marked: the notifiers all failed
  const again = evaluateAlerts({ alerts: first.alerts, groups: [] }, { job_failed: [{ labels: { job: 'resample' }, value: null, threshold: null, summary: 'job resample failed' }] }, r, T0 + MIN, REPEAT);
  assert.deepEqual(again.due.map((d) => [d.key, d.reason]), [['job_failed{job=resample}', 'new']]);
});

const noSignals: Signals = { errorRate: null, lagMs: null, sensors: null, jobs: null, queryLatency: null };

test('rules: error rate needs enough items and a rate above the threshold', () => {
  const r = rules();
  const at = (received: number, errors: number) => observe({ ...noSignals, errorRate: { received, errors, windowMs: 5 * MIN } }, r, T0).error_rate;
  assert.deepEqual(at(10, 5), [], 'fewer than minItems says nothing');
  assert.deepEqual(at(1000, 10), [], '1 % is not above 1 %');
  const fire = at(1000, 32)!;
  assert.equal(fire.length, 1);
  assert.equal(fire[0].value, 0.032);
  assert.match(fire[0].summary, /3\.20 % \(> 1\.00 %\): 32 of 1000 items/);
  assert.equal(observe(noSignals, r, T0).error_rate, null);
});

test('rules: silent sensors, completeness (not for silent or new sensors), failed jobs, lag', () => {
  const r = rules({ sensor_silent: { k: 10 }, completeness: { threshold: 0.8, windowS: 3600 } });
  const sensors: Signals['sensors'] = [
    { sensorId: 'fine', expectedIntervalS: 60, lastSeenAt: T0 - 30_000, firstSeenAt: T0 - 86_400_000, samplesInWindow: 60 },
    { sensorId: 'gappy', expectedIntervalS: 60, lastSeenAt: T0 - 30_000, firstSeenAt: T0 - 86_400_000, samplesInWindow: 30 },
    { sensorId: 'quiet', expectedIntervalS: 60, lastSeenAt: T0 - 11 * MIN, firstSeenAt: T0 - 86_400_000, samplesInWindow: 49 },
    { sensorId: 'never', expectedIntervalS: 60, lastSeenAt: null, firstSeenAt: null, samplesInWindow: 0 },
    { sensorId: 'new', expectedIntervalS: 60, lastSeenAt: T0 - 1000, firstSeenAt: T0 - 5 * MIN, samplesInWindow: 5 },
  ];
  const o = observe({ ...noSignals, sensors, lagMs: 6 * MIN, jobs: [{ job: 'resample', status: 'failed', finishedAt: T0, error: 'disk full' }, { job: 'rollup_1h', status: 'ok', finishedAt: T0, error: null }] }, r, T0);
  assert.deepEqual(o.sensor_silent!.map((x) => x.labels.sensor_id), ['quiet', 'never']);
  assert.deepEqual(o.completeness!.map((x) => [x.labels.sensor_id, x.value]), [['gappy', 0.5]]);
  assert.deepEqual(o.job_failed!.map((x) => x.labels.job), ['resample']);
  assert.match(o.job_failed![0].summary, /disk full/);
  assert.equal(o.pipeline_lag!.length, 1);
  assert.deepEqual(observe({ ...noSignals, lagMs: 4 * MIN }, r, T0).pipeline_lag, []);
});

test('rules: query latency compares the recent p95 with the learned or configured baseline', () => {
  const tracker = new LatencyTracker();
  for (let i = 0; i < 100; i++) tracker.record(20 + (i % 10), T0 - 3_600_000 + i * 1000); // an hour ago: ~20-29 ms
  for (let i = 0; i < 40; i++) tracker.record(i < 30 ? 30 : 200, T0 - 60_000 + i * 1000); // recent: p95 = 200 ms
  const recent = tracker.p95(T0 - 5 * MIN, T0 + 1);
  const base = tracker.p95(T0 - 5 * MIN - 86_400_000, T0 - 5 * MIN);
  assert.deepEqual(recent, { count: 40, p95Ms: 200 });
  assert.deepEqual(base, { count: 100, p95Ms: 29 });
  const q = { recentP95Ms: recent.p95Ms, recentCount: recent.count, baselineP95Ms: base.p95Ms, baselineCount: base.count };
  const learned = observe({ ...noSignals, queryLatency: q }, rules(), T0).query_latency!;
  assert.equal(learned.length, 1);
  assert.equal(learned[0].threshold, 58);
  assert.deepEqual(observe({ ...noSignals, queryLatency: q }, rules({ query_latency: { baselineMs: 150 } }), T0).query_latency, []);
  assert.equal(observe({ ...noSignals, queryLatency: { ...q, baselineCount: 5 } }, rules(), T0).query_latency, null, 'no baseline yet: cannot tell');
  tracker.prune(T0 + 25 * 3_600_000 - 30_000);
  assert.equal(tracker.size, 10, 'only samples younger than 25 h stay (the last 10 recent ones)');
});

test('a notice renders as one notification with every alert of the group', () => {
  const r = rules();
  const x = step({ alerts: [], groups: [] }, { sensor_silent: silent('a', 'b') }, r, T0);
  const n = renderNotice(x.res.due[0], T0, 'https://sp.example/');
  assert.equal(n.title, 'FIRING: Silent sensors: 2 alerts');
  assert.match(n.text, /• sensor a silent\n• sensor b silent/);
  assert.equal(n.url, 'https://sp.example/#/alerts');
  assert.equal(n.key, 'sensor_silent');
  assert.equal((n.data!.alerts as unknown[]).length, 2);
});
