// The scheduler with a fake clock and a manual timer (no sleeps): cron firings, the watermark,
// job_runs rows, catch-up after downtime (bounded, with a skipped row that says how to backfill),
// failures recorded and retried, no overlapping runs of one job, interrupted runs, manual ranges,
// and the real aggregate jobs end to end including late data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { JobContext, JobResult, TimeWindow } from '../../src/core/jobs.js';
import { silentLogger } from '../../src/core/types.js';
import { InProcessJobLock } from '../../src/jobs/lock.js';
import { resampleJob } from '../../src/jobs/resample.js';
import { rollup1dJob, rollup1hJob } from '../../src/jobs/rollup.js';
import { JobRangeError, Scheduler, UnknownJobError, type ProgressEvent } from '../../src/jobs/scheduler.js';
import { ManualTimer } from '../../src/jobs/timer.js';
import type { JobEntry, JobSettings, ScheduledJob } from '../../src/jobs/types.js';
import { HOUR, MINUTE } from '../../src/jobs/windows.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { assertSameAggregates, expectedFromReadings, tableRows } from '../helpers/aggregates.js';
import { SpoolSim, batchOf, reading } from '../helpers/batches.js';
import { tempDir } from '../helpers/server.js';

const T = (iso: string) => Date.parse(iso);

class FakeClock {
  constructor(public t: number) {}
  now = () => this.t;
  set(iso: string) {
    this.t = T(iso);
  }
}

/** A job that records its calls, can be told to fail a window, and can be held open with a gate. */
class FakeJob implements ScheduledJob {
  readonly windowMs = HOUR;
  readonly catchUp = 'all' as const;
  readonly description = 'test job';
  calls: string[] = [];
  failOnce = new Set<string>();
  gate: Promise<void> | null = null;
  /** Called when a run starts (before it waits at the gate). */
  onEnter: (() => void) | null = null;
  active = 0;
  maxActive = 0;
  constructor(readonly name: string) {}
  async run(w: TimeWindow, ctx: JobContext): Promise<JobResult> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const start = new Date(w.start).toISOString();
      this.calls.push(start + (ctx.dryRun ? ' (dry)' : ''));
      this.onEnter?.();
      if (this.gate) await this.gate;
      if (this.failOnce.delete(start)) throw new Error(`disk on fire at ${start}`);
      return { rows: 10, detail: { window: start } };
    } finally {
      this.active--;
    }
  }
}

const settings = (o: Partial<JobSettings> = {}): JobSettings => ({
  enabled: true,
  schedule: '*/5 * * * *',
  graceMs: 300_000,
  maxCatchupWindows: 24,
  ...o,
});

const tmp = tempDir('sensorpipe-sched-');
let wh: DuckDbWarehouse;
let n = 0;

before(async () => {
  wh = await DuckDbWarehouse.open({ path: join(tmp.dir, 'warehouse.duckdb'), metricDefaults: {} });
});
after(async () => {
  await wh?.close();
  tmp.cleanup();
});

/** A fresh job name per test, so tests sharing the warehouse do not see each other's runs. */
function setup(o: Partial<JobSettings> = {}, clockAt = '2024-05-01T12:03:00Z', lock = new InProcessJobLock()) {
  const job = new FakeJob(`fake-${++n}`);
  const clock = new FakeClock(T(clockAt));
  const timer = new ManualTimer();
  const entries: JobEntry[] = [{ job, settings: settings(o) }];
  const make = () => new Scheduler(entries, { warehouse: wh, clock, logger: silentLogger, timer, lock });
  return { job, clock, timer, make, scheduler: make(), lock };
}

test('fires on the cron schedule, runs closed windows behind the watermark, records job_runs', async () => {
  const { job, clock, scheduler } = setup({ schedule: '* * * * *' });
  await scheduler.tick(); // 12:03: the first firing is at 12:04
  assert.deepEqual(job.calls, []);
  clock.set('2024-05-01T12:04:00Z');
  await scheduler.tick(); // watermark 11:59: the latest closed window is 10:00-11:00 (fresh start, no history)
  assert.deepEqual(job.calls, ['2024-05-01T10:00:00.000Z']);
  clock.set('2024-05-01T12:05:00Z');
  await scheduler.tick(); // watermark 12:00 closes 11:00-12:00
  assert.deepEqual(job.calls, ['2024-05-01T10:00:00.000Z', '2024-05-01T11:00:00.000Z']);
  clock.set('2024-05-01T12:59:00Z');
  await scheduler.tick(); // nothing new until 13:05
  clock.set('2024-05-01T13:04:00Z');
  await scheduler.tick();
  assert.equal(job.calls.length, 2);
  clock.set('2024-05-01T13:05:00Z');
  await scheduler.tick();
  assert.equal(job.calls.length, 3);

  const runs = await scheduler.history({ job: job.name });
  assert.equal(runs.length, 3);
  assert.deepEqual(
    runs.map((r) => [r.windowStart, r.windowEnd, r.status, r.triggeredBy, r.rows, r.error]),
    [
      ['2024-05-01T12:00:00.000Z', '2024-05-01T13:00:00.000Z', 'ok', 'schedule', 10, null],
      ['2024-05-01T11:00:00.000Z', '2024-05-01T12:00:00.000Z', 'ok', 'schedule', 10, null],
      ['2024-05-01T10:00:00.000Z', '2024-05-01T11:00:00.000Z', 'ok', 'schedule', 10, null],
    ],
  );
  assert.equal(runs[0].startedAt, '2024-05-01T13:05:00.000Z');
  assert.equal(runs[0].finishedAt, '2024-05-01T13:05:00.000Z');
  assert.ok(runs[0].durationMs !== null && runs[0].durationMs >= 0);
  assert.deepEqual(runs[0].detail, { window: '2024-05-01T12:00:00.000Z' });
  // The raw table, as an analyst sees it.
  const raw = await wh.query(`SELECT job, status, rows, triggered_by, detail FROM job_runs WHERE job = '${job.name}' ORDER BY window_start`);
  assert.deepEqual(raw.rows[0], { job: job.name, status: 'ok', rows: 10, triggered_by: 'schedule', detail: '{"window":"2024-05-01T10:00:00.000Z"}' });
});

test('after downtime it catches up on every missed window, in order', async () => {
  const { job, clock, make, scheduler } = setup();
  clock.set('2024-05-01T12:05:00Z');
  await scheduler.tick();
  assert.deepEqual(job.calls, ['2024-05-01T11:00:00.000Z']);
  await scheduler.stop();
  // Down from 12:06 to 20:31; the restarted scheduler fires at 20:35.
  clock.set('2024-05-01T20:31:00Z');
  const restarted = make();
  await restarted.start();
  await restarted.tick();
  assert.equal(job.calls.length, 1, 'nothing before the first firing');
  clock.set('2024-05-01T20:35:00Z');
  await restarted.tick();
  assert.deepEqual(job.calls.slice(1), [12, 13, 14, 15, 16, 17, 18, 19].map((h) => `2024-05-01T${h}:00:00.000Z`));
  await restarted.stop();
});

test('catch-up is bounded by maxCatchupWindows; the older range is one skipped row that says how to backfill it', async () => {
  const { job, clock, scheduler } = setup({ maxCatchupWindows: 3 });
  clock.set('2024-05-01T12:05:00Z');
  await scheduler.tick();
  clock.set('2024-05-02T00:05:00Z');
  await scheduler.tick();
  assert.deepEqual(job.calls.slice(1), ['2024-05-01T21:00:00.000Z', '2024-05-01T22:00:00.000Z', '2024-05-01T23:00:00.000Z']);
  const skipped = (await scheduler.history({ job: job.name })).filter((r) => r.status === 'skipped');
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].windowStart, '2024-05-01T12:00:00.000Z');
  assert.equal(skipped[0].windowEnd, '2024-05-01T21:00:00.000Z');
  assert.match(String(skipped[0].detail?.skipped), new RegExp(`sensorpipe jobs run ${job.name} --from 2024-05-01T12:00:00.000Z --to 2024-05-01T21:00:00.000Z`));
  // The next firing resumes after the catch-up, not from the skipped range.
  clock.set('2024-05-02T01:05:00Z');
  await scheduler.tick();
  assert.deepEqual(job.calls.slice(4), ['2024-05-02T00:00:00.000Z']);
});

test('a failed window is recorded with its error and retried at the next firing; later windows wait behind it', async () => {
  const { job, clock, scheduler } = setup();
  clock.set('2024-05-01T12:05:00Z');
  await scheduler.tick();
  job.failOnce.add('2024-05-01T13:00:00.000Z');
  clock.set('2024-05-01T15:05:00Z');
  await scheduler.tick();
  assert.deepEqual(job.calls.slice(1), ['2024-05-01T12:00:00.000Z', '2024-05-01T13:00:00.000Z'], '14:00 waits behind the failure');
  const [failed] = await scheduler.history({ job: job.name, limit: 1 });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.windowStart, '2024-05-01T13:00:00.000Z');
  assert.match(failed.error ?? '', /disk on fire/);
  clock.set('2024-05-01T15:10:00Z');
  await scheduler.tick();
  assert.deepEqual(job.calls.slice(3), ['2024-05-01T13:00:00.000Z', '2024-05-01T14:00:00.000Z']);
  const statuses = (await scheduler.history({ job: job.name })).map((r) => `${r.windowStart.slice(11, 13)} ${r.status}`).reverse();
  assert.deepEqual(statuses, ['11 ok', '12 ok', '13 failed', '13 ok', '14 ok']);
});

test('the same job never runs twice at once: concurrent ticks join, a manual run waits, another scheduler skips', async () => {
  const shared = new InProcessJobLock();
  const { job, clock, scheduler } = setup({}, '2024-05-01T12:03:00Z', shared);
  // A second scheduler in the same process, sharing the lock (as a second process would share a PostgreSQL advisory lock).
  const other = new Scheduler([{ job, settings: settings() }], { warehouse: wh, clock, logger: silentLogger, timer: new ManualTimer(), lock: shared });
  let open!: () => void;
  job.gate = new Promise<void>((r) => (open = r));
  const entered = new Promise<void>((r) => (job.onEnter = r));
  clock.set('2024-05-01T14:05:00Z');
  const first = scheduler.tick();
  await entered;
  assert.equal(job.active, 1);
  const joined = scheduler.tick();
  await other.tick(); // finds the lock held: skips this firing
  const events: ProgressEvent[] = [];
  let waiting!: () => void;
  const waited = new Promise<void>((r) => (waiting = r));
  const manual = scheduler.runRange(scheduler.planRange(job.name, { from: T('2024-05-01T10:00:00Z'), to: T('2024-05-01T11:00:00Z') }), {
    onProgress: (e) => {
      events.push(e);
      waiting();
    },
  });
  await waited;
  assert.equal(events[0].type, 'waiting');
  assert.equal(job.active, 1);
  open();
  await Promise.all([first, joined]);
  const summary = await manual;
  assert.equal(summary.ok, 1);
  assert.equal(job.maxActive, 1, 'never two runs at once');
  assert.deepEqual(job.calls, ['2024-05-01T13:00:00.000Z', '2024-05-01T10:00:00.000Z']);
  const runs = await scheduler.history({ job: job.name });
  assert.deepEqual(runs.map((r) => r.triggeredBy).sort(), ['manual', 'schedule']);
});

test('runs left running by a stopped process are marked failed at start', async () => {
  const { job, scheduler, make } = setup();
  const runId = await scheduler.runs.begin(job.name, { start: T('2024-05-01T09:00:00Z'), end: T('2024-05-01T10:00:00Z') }, 'schedule', T('2024-05-01T10:05:00Z'));
  await make().start();
  const [r] = await scheduler.history({ job: job.name });
  assert.equal(r.runId, runId);
  assert.equal(r.status, 'failed');
  assert.match(r.error ?? '', /interrupted/);
});

test('the timer is armed for the next firing and re-armed after each tick', async () => {
  const { job, clock, timer, scheduler } = setup({ schedule: '15 * * * *' });
  await scheduler.start();
  assert.equal(timer.armed?.delayMs, 12 * MINUTE, '12:03 -> 12:15');
  clock.set('2024-05-01T12:15:00Z');
  timer.fire();
  await scheduler.tick(); // joins the tick the timer started
  assert.deepEqual(job.calls, ['2024-05-01T11:00:00.000Z']);
  assert.equal(timer.armed?.delayMs, 60 * MINUTE);
  await scheduler.stop();
  assert.equal(timer.armed, null);
  const [info] = await scheduler.list();
  assert.equal(info.name, job.name);
  assert.equal(info.nextRun, '2024-05-01T13:15:00.000Z');
  assert.equal(info.lastRun?.status, 'ok');
  assert.equal(info.window, '1h');
});

test('manual ranges: whole windows, cut at the watermark, dry runs are not recorded', async () => {
  const { job, clock, scheduler } = setup();
  clock.set('2024-05-01T12:20:00Z');
  assert.deepEqual(scheduler.planRange(job.name), { job: job.name, from: T('2024-05-01T11:00:00Z'), to: T('2024-05-01T12:00:00Z'), windows: [{ start: T('2024-05-01T11:00:00Z'), end: T('2024-05-01T12:00:00Z') }] });
  const plan = scheduler.planRange(job.name, { from: T('2024-05-01T08:30:00Z'), to: T('2024-05-01T14:00:00Z') });
  assert.equal(plan.windows.length, 4, '08:00 .. 12:00');
  assert.match(plan.note ?? '', /not closed yet/);
  assert.throws(() => scheduler.planRange(job.name, { from: T('2024-05-01T12:00:00Z') }), JobRangeError);
  assert.throws(() => scheduler.planRange('nope'), UnknownJobError);
  const dry = await scheduler.runRange(plan, { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.ok, 4);
  assert.equal(dry.rows, 40);
  assert.deepEqual(await scheduler.history({ job: job.name }), []);
  assert.ok(job.calls.every((c) => c.endsWith('(dry)')));
});

test('the aggregate jobs under the scheduler: rollups wait for resample; late data is folded in by the next firing', async () => {
  const clock = new FakeClock(T('2024-06-03T00:00:00Z'));
  const entries: JobEntry[] = [
    { job: resampleJob(), settings: settings() },
    { job: rollup1hJob(), settings: settings({ graceMs: 0 }) },
    { job: rollup1dJob(), settings: settings({ graceMs: 0, maxCatchupWindows: 7 }) },
  ];
  const s = new Scheduler(entries, { warehouse: wh, clock, logger: silentLogger, timer: new ManualTimer() });
  const sim = new SpoolSim(1_000_000);
  // Six hours of two sensors, one reading a minute, from 2024-06-03T00:00Z.
  const recs = [];
  for (let m = 0; m < 6 * 60; m++) {
    const ts = T('2024-06-03T00:00:00Z') + m * MINUTE;
    recs.push(sim.message([reading('agg-1', 'temperature', ts + 7_000, 20 + Math.sin(m / 30)), reading('agg-2', 'temperature', ts + 31_000, 18 + (m % 17) / 10)]));
  }
  await wh.writeBatch(batchOf(recs));
  clock.set('2024-06-03T03:05:00Z');
  await s.tick();
  const hist = async (job: string) => (await s.history({ job })).map((r) => `${r.triggeredBy} ${r.windowStart.slice(11, 16)} ${r.status}`).reverse();
  assert.deepEqual(await hist('resample'), ['schedule 00:00 ok', 'schedule 01:00 ok', 'schedule 02:00 ok']);
  assert.deepEqual(await hist('rollup_1h'), ['schedule 00:00 ok', 'schedule 01:00 ok', 'schedule 02:00 ok']);
  assert.deepEqual(await hist('rollup_1d'), [], 'the day is not closed');
  // A late reading for 01:xx arrives; the 03:10 firing has no new window and runs the pending work.
  await wh.writeBatch(batchOf([sim.message([reading('agg-2', 'temperature', T('2024-06-03T01:30:45Z'), 99)])]));
  clock.set('2024-06-03T03:10:00Z');
  await s.tick();
  assert.deepEqual((await hist('resample')).slice(3), ['pending 01:00 ok']);
  assert.deepEqual((await hist('rollup_1h')).slice(3), ['pending 01:00 ok']);
  const within = (rows: Awaited<ReturnType<typeof tableRows>>) => rows.filter((r) => r.sensor_id.startsWith('agg-') && r.bucket < '2024-06-03T03:00');
  assertSameAggregates(within(await tableRows(wh, 'readings_1m')), within(await expectedFromReadings(wh, 'minute')), '1m');
  assertSameAggregates(within(await tableRows(wh, 'readings_1h')), within(await expectedFromReadings(wh, 'hour')), '1h');
  // The next day: the remaining hours and the day run, in order, in one tick.
  clock.set('2024-06-04T00:05:00Z');
  await s.tick();
  assert.equal((await hist('resample')).filter((h) => h.startsWith('schedule')).length, 24);
  assert.deepEqual(await hist('rollup_1d'), ['schedule 00:00 ok']);
  const mine = (rows: Awaited<ReturnType<typeof tableRows>>) => rows.filter((r) => r.sensor_id.startsWith('agg-'));
  assertSameAggregates(mine(await tableRows(wh, 'readings_1d')), mine(await expectedFromReadings(wh, 'day')), '1d');
  const list = await s.list();
  assert.deepEqual(list.map((j) => [j.name, j.lastRun?.status]), [['resample', 'ok'], ['rollup_1h', 'ok'], ['rollup_1d', 'ok']]);
});
