// What the rules are fed, measured on a real warehouse: every signal is measured (none unknown),
// a failed job run in job_runs becomes a job_failed alert and a later ok run resolves it, a gappy
// sensor shows its completeness; and the manager evaluates on its timer with the injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir } from '../helpers/server.js';
import { SignalCollector } from '../../src/alerting/signals.js';
import { LatencyTracker } from '../../src/alerting/latency-tracker.js';
import { observe } from '../../src/alerting/rules.js';
import { AlertManager } from '../../src/alerting/alert-manager.js';
import { alertsConfigSchema } from '../../src/alerting/config.js';
import { Notifiers } from '../../src/notifiers/notifier-set.js';
import { JobRunStore } from '../../src/jobs/job-runs.js';
import { ManualTimer } from '../../src/jobs/timer.js';
import { silentLogger } from '../../src/core/types.js';

test('signals from a real warehouse: sensors, completeness, failed and recovered jobs, lag', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { alerts: { enabled: false } });
  t.after(() => sp.stop());
  const now = Date.now();
  const admin = sp.auth.createToken('admin');
  await sp.warehouse.upsertSensor({ sensorId: 'gappy', location: null, type: null, expectedIntervalS: 60, metrics: {} });
  // the last 2 hours, every 60 s, but only every other minute in the last hour: 50 % complete
  const recs = [];
  for (let m = 120; m >= 1; m--) if (m > 60 || m % 2 === 0) recs.push({ sensor_id: 'gappy', ts: new Date(now - m * 60_000).toISOString(), temperature: 20 });
  const r = await sp.http!.inject({ method: 'POST', url: '/v1/ingest', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify(recs) });
  assert.equal(r.statusCode, 200, r.body);
  await sp.writer.drain();

  const runs = new JobRunStore(sp.warehouse);
  const w = { start: now - 3_600_000, end: now - 3_000_000 };
  const failed = await runs.begin('resample', w, 'schedule', now - 120_000);
  await runs.finish(failed, { status: 'failed', rows: null, durationMs: 5, error: 'IO Error: disk full', finishedAt: now - 119_000, detail: null });

  const rules = alertsConfigSchema.parse({}).rules;
  const collector = new SignalCollector({ warehouse: sp.warehouse, spoolStats: () => sp.spool.stats(), latency: new LatencyTracker(), logger: silentLogger }, rules);
  // evaluated at `now`: the last hour is [now - 1 h, now), 30 of 60 minutes present
  const at = now;
  const s = await collector.collect(at);
  assert.equal(s.lagMs, 0, 'the spool is empty after drain');
  assert.notEqual(s.sensors, null);
  const gappy = s.sensors!.find((x) => x.sensorId === 'gappy')!;
  assert.equal(gappy.expectedIntervalS, 60);
  assert.equal(gappy.samplesInWindow, 30);
  assert.ok(gappy.lastSeenAt !== null && Math.abs(at - gappy.lastSeenAt) < 120_000, 'last seen = when it arrived');
  assert.equal(gappy.firstSeenAt, now - 120 * 60_000, 'first seen = its oldest reading');
  assert.deepEqual(s.jobs!.filter((j) => j.job === 'resample').map((j) => [j.status, j.error]), [['failed', 'IO Error: disk full']]);
  assert.ok(s.queryLatency !== null);
  assert.equal(s.errorRate, null, 'the first evaluation only takes the totals');

  // completeness only judges sensors with readings older than the window: 2 h of data, window 1 h
  const o = observe(s, rules, at);
  assert.deepEqual(o.completeness!.map((x) => [x.labels.sensor_id, x.value]), [['gappy', 0.5]]);
  assert.deepEqual(o.job_failed!.map((x) => x.labels.job), ['resample']);
  assert.deepEqual(o.sensor_silent, []);

  const ok = await runs.begin('resample', { start: w.end, end: w.end + 600_000 }, 'schedule', now - 60_000);
  await runs.finish(ok, { status: 'ok', rows: 10, durationMs: 5, error: null, finishedAt: now - 59_000, detail: null });
  const s2 = await collector.collect(at + 30_000);
  assert.deepEqual(observe(s2, rules, at + 30_000).job_failed, [], 'a later ok run clears it');
  assert.deepEqual(s2.errorRate, { received: 0, errors: 0, windowMs: 30_000 });
});

test('the manager evaluates at start and then every evaluateIntervalS, on the injected timer and clock', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir, { alerts: { enabled: false } });
  t.after(() => sp.stop());
  let now = Date.parse('2026-12-03T12:00:00Z');
  const timer = new ManualTimer();
  const cfg = alertsConfigSchema.parse({ evaluateIntervalS: 45 });
  const m = await AlertManager.open(
    { warehouse: sp.warehouse, spoolStats: () => sp.spool.stats(), latency: new LatencyTracker(), notifiers: new Notifiers([]), clock: { now: () => now }, logger: silentLogger, timer },
    cfg,
  );
  m.start();
  assert.equal(timer.armed?.delayMs, 0);
  timer.fire();
  // the evaluation runs asynchronously; evaluateNow waits for it, then runs its own at the same time
  await m.evaluateNow();
  assert.equal(m.current().evaluatedAt, now);
  assert.equal(timer.armed?.delayMs, 45_000);
  now += 45_000;
  timer.fire();
  await m.evaluateNow();
  assert.equal(m.current().evaluatedAt, now);
  await m.stop();
  assert.equal(timer.armed, null, 'stop disarms the timer');
});
