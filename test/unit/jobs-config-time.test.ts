// The small pieces of the jobs: the jobs config section (defaults, env, every problem with its
// path), cron (UTC), window arithmetic, and the times `jobs run --from/--to` accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { buildJobs } from '../../src/jobs/catalog.js';
import { cronProblem, nextCronTime } from '../../src/jobs/cron.js';
import { DAY, HOUR, alignDown, alignUp, formatDuration, parseTime, windowsIn } from '../../src/jobs/windows.js';

const T = (iso: string) => Date.parse(iso);

test('jobs config: defaults, environment overrides, and every problem reported with its path', () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(c.jobs.resample, { enabled: true, schedule: '*/5 * * * *', graceS: 300, maxCatchupWindows: 168 });
  assert.equal(c.jobs.retention.enabled, false);
  assert.deepEqual(c.jobs.retention.keepDays, { readings: 90, readings_1m: 365, readings_1h: 1825, readings_1d: null });
  const e = loadConfig({ env: { SENSORPIPE_JOBS__RESAMPLE__GRACE_S: '600', SENSORPIPE_JOBS__RETENTION__KEEP_DAYS__READINGS: '30', SENSORPIPE_JOBS__ROLLUP_1D__ENABLED: 'false' } });
  assert.equal(e.jobs.resample.graceS, 600);
  assert.equal(e.jobs.retention.keepDays.readings, 30);
  assert.equal(e.jobs.rollup_1d.enabled, false);
  assert.deepEqual(buildJobs(e.jobs).map((j) => [j.job.name, j.settings.enabled, j.settings.graceMs]), [
    ['resample', true, 600_000],
    ['rollup_1h', true, 0],
    ['rollup_1d', false, 0],
    ['retention', false, 0],
  ]);
  const bad = checkConfig({ env: {}, flags: { jobs: { resample: { schedule: '*/5 * *' }, rollup_1h: { graceS: -1 }, retention: { keepDays: { readings: 0, forever: 1 } }, nightly: {} } } });
  assert.equal(bad.config, undefined);
  const paths = bad.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ['jobs', 'jobs.resample.schedule', 'jobs.retention.keepDays', 'jobs.retention.keepDays.readings', 'jobs.rollup_1h.graceS']);
  assert.match(bad.problems.find((p) => p.path === 'jobs.resample.schedule')!.message, /invalid cron schedule "\*\/5 \* \*".*5 fields, UTC/);
});

test('cron schedules are evaluated in UTC, strictly after the given time', () => {
  assert.equal(cronProblem('*/5 * * * *'), null);
  assert.equal(cronProblem('30 3 * * 1-5'), null);
  assert.match(cronProblem('61 * * * *') ?? '', /minute/);
  assert.equal(nextCronTime('*/5 * * * *', T('2024-05-01T12:03:00Z')), T('2024-05-01T12:05:00Z'));
  assert.equal(nextCronTime('*/5 * * * *', T('2024-05-01T12:05:00Z')), T('2024-05-01T12:10:00Z'));
  assert.equal(nextCronTime('30 3 * * *', T('2024-05-01T12:00:00Z')), T('2024-05-02T03:30:00Z'));
  assert.equal(nextCronTime('0 0 1 1 *', T('2024-12-31T23:59:00Z')), T('2025-01-01T00:00:00Z'));
});

test('windows tile time in UTC, aligned to their length', () => {
  assert.equal(alignDown(T('2024-05-01T12:34:56Z'), HOUR), T('2024-05-01T12:00:00Z'));
  assert.equal(alignUp(T('2024-05-01T12:34:56Z'), HOUR), T('2024-05-01T13:00:00Z'));
  assert.equal(alignUp(T('2024-05-01T12:00:00Z'), HOUR), T('2024-05-01T12:00:00Z'));
  assert.equal(alignDown(T('2024-05-01T23:59:59Z'), DAY), T('2024-05-01T00:00:00Z'));
  assert.deepEqual(windowsIn(T('2024-05-01T00:00:00Z'), T('2024-05-03T00:00:00Z'), DAY).map((w) => new Date(w.start).toISOString()), ['2024-05-01T00:00:00.000Z', '2024-05-02T00:00:00.000Z']);
  assert.deepEqual(windowsIn(0, HOUR - 1, HOUR), []);
  assert.deepEqual([formatDuration(HOUR), formatDuration(DAY), formatDuration(60_000), formatDuration(90_000)], ['1h', '1d', '1m', '90s']);
});

test('times for --from/--to: ISO dates and date-times (UTC without a zone), now, relative', () => {
  const now = T('2024-05-10T12:00:00Z');
  assert.equal(parseTime('2024-05-01', now), T('2024-05-01T00:00:00Z'));
  assert.equal(parseTime('2024-05-01T12:30', now), T('2024-05-01T12:30:00Z'), 'no zone: UTC, not local time');
  assert.equal(parseTime('2024-05-01 12:30:15', now), T('2024-05-01T12:30:15Z'));
  assert.equal(parseTime('2024-05-01T12:30:00+02:00', now), T('2024-05-01T10:30:00Z'));
  assert.equal(parseTime('2024-05-01T12:30:00.250Z', now), T('2024-05-01T12:30:00.250Z'));
  assert.equal(parseTime('now', now), now);
  assert.equal(parseTime('-36h', now), T('2024-05-09T00:00:00Z'));
  assert.equal(parseTime('-7d', now), T('2024-05-03T12:00:00Z'));
  assert.equal(parseTime('-90m', now), T('2024-05-10T10:30:00Z'));
  for (const bad of ['yesterday', '2024-13-01', '05/01/2024', '-7w', '', '1714564800']) assert.equal(parseTime(bad, now), null, bad);
});
