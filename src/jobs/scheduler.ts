/**
 * The job scheduler (DESIGN §5). One per process; also the service behind `sensorpipe jobs …`
 * and /v1/jobs (the CLI builds one without starting it when no server runs).
 *
 * - Each enabled job fires on its cron schedule (UTC). A firing runs every *closed* window the job
 *   has not run yet, oldest first: a window is closed once `now - grace >= end` (the watermark)
 *   and, for rollups, once the finer level has covered it (`readyUntil`).
 * - Where it resumes: the end of the latest scheduled window that finished ok or was skipped
 *   (`job_runs`). So a failed window is retried at the next firing, and after downtime the missed
 *   windows run in order — at most `maxCatchupWindows` of them; an older remainder is recorded as
 *   one `skipped` run whose detail says how to backfill it. Later windows wait behind a failed one.
 * - A firing with no new window runs the job's pending work (dirty windows after late data).
 * - The same job never runs twice at once: every run (scheduled or manual) holds the job's lock
 *   (lock.ts). A scheduled firing that finds the lock held does nothing; a manual run waits.
 *   Firings of one scheduler run one after another, in configuration order (resample before the
 *   rollups), so a tick that is still running when the timer fires again is not doubled.
 * - The clock and the timer are injected: tests advance a fake clock and call `tick()`.
 */
import type { JobContext, JobResult, TimeWindow } from '../core/jobs.js';
import { silentLogger, systemClock } from '../core/types.js';
import type { Clock, EpochMs, Logger } from '../core/types.js';
import { nextCronTime } from './cron.js';
import { JobRunStore, type JobRun, type Trigger } from './job-runs.js';
import { InProcessJobLock, type JobLock } from './lock.js';
import { MAX_TIMER_DELAY_MS, systemTimer, type Timer } from './timer.js';
import { skippedReason, type JobEntry } from './types.js';
import { alignDown, alignUp, formatDuration, iso, windowsIn } from './windows.js';

export * from './scheduler-types.js';
import { JobRangeError, UnknownJobError, type JobInfo, type ProgressEvent, type RangePlan, type RangeSummary, type RunRecord, type SchedulerDeps } from './scheduler-types.js';

const MAX_RUNS_IN_SUMMARY = 100;

interface Slot extends JobEntry {
  nextFire: EpochMs | null;
}

export class Scheduler {
  readonly runs: JobRunStore;
  private readonly slots = new Map<string, Slot>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timer: Timer;
  private readonly lock: JobLock;
  private readonly active = new Set<string>();
  private timerHandle: unknown = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopping = false;

  constructor(entries: JobEntry[], private readonly deps: SchedulerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.logger = (deps.logger ?? silentLogger).child({ component: 'scheduler' });
    this.timer = deps.timer ?? systemTimer;
    this.lock = deps.lock ?? new InProcessJobLock();
    this.runs = new JobRunStore(deps.warehouse);
    const now = this.clock.now();
    for (const e of entries) {
      if (this.slots.has(e.job.name)) throw new Error(`two jobs are named ${e.job.name}`);
      this.slots.set(e.job.name, { ...e, nextFire: e.settings.enabled ? nextCronTime(e.settings.schedule, now) : null });
    }
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  names(): string[] {
    return [...this.slots.keys()];
  }

  /** Fails runs a previous process left `running`, then arms the timer for the first firing. */
  async start(): Promise<void> {
    if (this.started) return;
    const interrupted = await this.runs.markInterrupted(this.clock.now());
    if (interrupted > 0) this.logger.warn({ interrupted }, 'job runs left running by the previous process were marked failed');
    this.started = true;
    this.arm();
    const enabled = [...this.slots.values()].filter((s) => s.settings.enabled).map((s) => s.job.name);
    this.logger.info({ jobs: enabled }, 'scheduler started');
  }

  /** Stops firing, lets the window being run finish (runs stop between windows), and returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timerHandle !== null) this.timer.clear(this.timerHandle);
    this.timerHandle = null;
    await this.ticking?.catch(() => undefined);
  }

  /**
   * Runs the jobs that are due at `clock.now()` (each once, in configuration order). Calls made
   * while a tick runs join it (and make it look again once more). Never rejects: failures are
   * recorded in job_runs and logged.
   */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          await this.runDue();
        } while (this.again && !this.stopping);
      } finally {
        this.ticking = null;
        this.arm();
      }
    })();
    return this.ticking;
  }

  private arm(): void {
    if (!this.started || this.stopping) return;
    if (this.timerHandle !== null) this.timer.clear(this.timerHandle);
    this.timerHandle = null;
    const fires = [...this.slots.values()].map((s) => s.nextFire).filter((t): t is number => t !== null);
    if (fires.length === 0) return;
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, Math.min(...fires) - this.clock.now()));
    this.timerHandle = this.timer.set(() => {
      this.timerHandle = null;
      this.tick().catch((err: unknown) => this.logger.error({ err }, 'scheduler tick failed'));
    }, delay);
  }

  private async runDue(): Promise<void> {
    for (const slot of this.slots.values()) {
      if (this.stopping) return;
      if (!slot.settings.enabled || slot.nextFire === null || slot.nextFire > this.clock.now()) continue;
      try {
        await this.fire(slot);
      } catch (err) {
        // Infrastructure (e.g. job_runs could not be written): the next firing tries again.
        this.logger.error({ err, job: slot.job.name }, 'job firing failed');
      }
      slot.nextFire = nextCronTime(slot.settings.schedule, this.clock.now());
    }
  }

  private async fire(slot: Slot): Promise<void> {
    const name = slot.job.name;
    const release = await this.lock.tryAcquire(slot.job.lockKey ?? name);
    if (!release) {
      this.logger.info({ job: name }, 'job is already running; this firing is skipped (the next one catches up)');
      return;
    }
    this.active.add(name);
    try {
      const windows = await this.dueWindows(slot);
      let ran = 0;
      for (const w of windows) {
        if (this.stopping) break;
        const rec = await this.runOne(slot, w, 'schedule', false);
        ran++;
        if (rec.status === 'failed') break; // later windows wait: the next firing retries this one
      }
      if (ran === 0 && slot.job.runPending && !this.stopping) await this.runPending(slot);
    } finally {
      this.active.delete(name);
      await release();
    }
  }

  /** The windows a firing at `clock.now()` would run (records a skipped range beyond the catch-up limit). */
  private async dueWindows(slot: Slot): Promise<TimeWindow[]> {
    const { job, settings } = slot;
    const now = this.clock.now();
    const w = job.windowMs;
    const ctx = this.ctx(slot, false);
    let limit = alignDown(now - settings.graceMs, w);
    if (job.readyUntil) {
      const ready = await job.readyUntil(ctx);
      if (ready === null) return [];
      if (Number.isFinite(ready)) limit = Math.min(limit, alignDown(ready, w));
    }
    const frontier = await this.runs.scheduledFrontier(job.name);
    if ((job.catchUp ?? 'all') === 'latest') {
      return frontier !== null && frontier >= limit ? [] : [{ start: limit - w, end: limit }];
    }
    let start: EpochMs;
    if (frontier !== null) start = alignDown(frontier, w);
    else if (job.earliestData) {
      const first = await job.earliestData(ctx);
      if (first === null) return [];
      start = alignDown(first, w);
    } else start = limit - w;
    if (start >= limit) return [];
    const max = settings.maxCatchupWindows;
    if ((limit - start) / w > max) {
      const skipTo = limit - max * w;
      const reason =
        `more than maxCatchupWindows (${max}) windows behind; ` +
        `backfill with: sensorpipe jobs run ${job.name} --from ${iso(start)} --to ${iso(skipTo)}`;
      await this.runs.record(job.name, { start, end: skipTo }, 'schedule', {
        status: 'skipped',
        rows: 0,
        durationMs: 0,
        error: null,
        startedAt: now,
        finishedAt: now,
        detail: { skipped: reason, windows: (skipTo - start) / w },
      });
      this.logger.warn({ job: job.name, from: iso(start), to: iso(skipTo) }, reason);
      start = skipTo;
    }
    return windowsIn(start, limit, w);
  }

  private ctx(slot: Slot, dryRun: boolean): JobContext {
    return {
      warehouse: this.deps.warehouse,
      lake: this.deps.lake ?? null,
      clock: this.clock,
      logger: this.logger.child({ job: slot.job.name }),
      dryRun,
    };
  }

  private async runOne(slot: Slot, window: TimeWindow, trigger: Trigger, dryRun: boolean): Promise<RunRecord> {
    const { job } = slot;
    const startedAt = this.clock.now();
    const t0 = performance.now();
    const runId = dryRun ? null : await this.runs.begin(job.name, window, trigger, startedAt);
    let result: JobResult | null = null;
    let error: string | null = null;
    try {
      result = await job.run(window, this.ctx(slot, dryRun));
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.logger.error({ err, job: job.name, window: { start: iso(window.start), end: iso(window.end) } }, 'job run failed');
    }
    const durationMs = performance.now() - t0;
    const status = error !== null ? 'failed' : result && skippedReason(result) ? 'skipped' : 'ok';
    const rec: RunRecord = {
      runId,
      job: job.name,
      triggeredBy: trigger,
      windowStart: iso(window.start) as string,
      windowEnd: iso(window.end) as string,
      status,
      rows: result?.rows ?? 0,
      durationMs: Math.round(durationMs),
      error,
      detail: result?.detail ?? null,
    };
    if (runId) {
      await this.runs.finish(runId, { status, rows: rec.rows, durationMs, error, finishedAt: this.clock.now(), detail: rec.detail });
      this.deps.observer?.jobRun({ job: job.name, status, trigger, durationMs });
    }
    this.logger.debug({ job: job.name, window: rec.windowStart, status, rows: rec.rows, ms: rec.durationMs, dryRun }, 'job run');
    return rec;
  }

  private async runPending(slot: Slot): Promise<void> {
    const { job } = slot;
    const startedAt = this.clock.now();
    const t0 = performance.now();
    try {
      const r = await job.runPending!(this.ctx(slot, false));
      if (!r) return;
      await this.runs.record(job.name, r.window, 'pending', {
        status: 'ok',
        rows: r.rows,
        durationMs: performance.now() - t0,
        error: null,
        startedAt,
        finishedAt: this.clock.now(),
        detail: r.detail ?? null,
      });
      this.deps.observer?.jobRun({ job: job.name, status: 'ok', trigger: 'pending', durationMs: performance.now() - t0 });
    } catch (err) {
      this.logger.error({ err, job: job.name }, 'pending work failed');
      await this.runs.record(job.name, { start: startedAt, end: startedAt }, 'pending', {
        status: 'failed',
        rows: 0,
        durationMs: performance.now() - t0,
        error: err instanceof Error ? err.message : String(err),
        startedAt,
        finishedAt: this.clock.now(),
        detail: null,
      });
      this.deps.observer?.jobRun({ job: job.name, status: 'failed', trigger: 'pending', durationMs: performance.now() - t0 });
    }
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new UnknownJobError(`unknown job "${name}"; the jobs are: ${this.names().join(', ')}`);
    return s;
  }

  /**
   * The windows of a manual run. Without `from`/`to`: the latest closed window. `from` is rounded
   * down and `to` up to whole windows; the range is cut at the watermark (open windows never run).
   */
  planRange(name: string, range: { from?: EpochMs; to?: EpochMs } = {}): RangePlan {
    const { job, settings } = this.slot(name);
    const w = job.windowMs;
    const limit = alignDown(this.clock.now() - settings.graceMs, w);
    let to = range.to !== undefined ? alignUp(range.to, w) : limit;
    const from = range.from !== undefined ? alignDown(range.from, w) : to - w;
    let note: string | undefined;
    if (to > limit) {
      note = `windows after ${iso(limit)} are not closed yet (watermark = now - ${settings.graceMs / 1000} s grace, ${formatDuration(w)} windows); stopped there`;
      to = limit;
    }
    if (from >= to) {
      throw new JobRangeError(
        `nothing to run for ${name}: no closed ${formatDuration(w)} window between ${iso(from)} and ${iso(to)}` + (note ? ` (${note})` : ''),
      );
    }
    return { job: name, from, to, windows: windowsIn(from, to, w), ...(note ? { note } : {}) };
  }

  /**
   * Runs every window of a plan in order (a backfill), recording each in job_runs (`manual`;
   * nothing is recorded in a dry run). Waits for the job's lock when a run is in progress. Stops at
   * the first failed window, or between windows when the scheduler stops.
   */
  async runRange(plan: RangePlan, opts: { dryRun?: boolean; onProgress?: (e: ProgressEvent) => void } = {}): Promise<RangeSummary> {
    const slot = this.slot(plan.job);
    const dryRun = opts.dryRun === true;
    const key = slot.job.lockKey ?? slot.job.name;
    let release = await this.lock.tryAcquire(key);
    if (!release) {
      opts.onProgress?.({ type: 'waiting', job: plan.job, message: `waiting for the running ${key} job to finish` });
      release = await this.lock.acquire(key);
    }
    const t0 = performance.now();
    const summary: RangeSummary = {
      job: plan.job,
      from: iso(plan.from) as string,
      to: iso(plan.to) as string,
      dryRun,
      windows: plan.windows.length,
      ran: 0,
      ok: 0,
      failed: 0,
      skipped: 0,
      rows: 0,
      durationMs: 0,
      ...(plan.note ? { note: plan.note } : {}),
    };
    const runs: RunRecord[] = [];
    this.active.add(plan.job);
    try {
      for (const [i, w] of plan.windows.entries()) {
        if (this.stopping) {
          summary.note = `${summary.note ? summary.note + '; ' : ''}stopped after ${summary.ran} windows: the server is shutting down`;
          break;
        }
        const rec = await this.runOne(slot, w, 'manual', dryRun);
        summary.ran++;
        summary.rows += rec.rows;
        summary[rec.status]++;
        if (plan.windows.length <= MAX_RUNS_IN_SUMMARY) runs.push(rec);
        opts.onProgress?.({ type: 'window', job: plan.job, index: i + 1, total: plan.windows.length, run: rec });
        if (rec.status === 'failed') {
          summary.failure = { windowStart: rec.windowStart, windowEnd: rec.windowEnd, error: rec.error ?? 'failed' };
          break;
        }
      }
    } finally {
      this.active.delete(plan.job);
      await release();
    }
    summary.durationMs = Math.round(performance.now() - t0);
    if (plan.windows.length <= MAX_RUNS_IN_SUMMARY) summary.runs = runs;
    return summary;
  }

  async list(): Promise<JobInfo[]> {
    const latest = await this.runs.latest();
    const now = this.clock.now();
    return [...this.slots.values()].map((s) => ({
      name: s.job.name,
      description: s.job.description ?? '',
      enabled: s.settings.enabled,
      schedule: s.settings.schedule,
      window: formatDuration(s.job.windowMs),
      windowMs: s.job.windowMs,
      graceS: s.settings.graceMs / 1000,
      maxCatchupWindows: s.settings.maxCatchupWindows,
      catchUp: s.job.catchUp ?? 'all',
      running: this.active.has(s.job.name),
      lastRun: latest.get(s.job.name) ?? null,
      nextRun: s.settings.enabled ? iso(this.started ? s.nextFire : nextCronTime(s.settings.schedule, now)) : null,
    }));
  }

  history(opts: { job?: string; limit?: number } = {}): Promise<JobRun[]> {
    if (opts.job !== undefined) this.slot(opts.job);
    return this.runs.history(opts);
  }
}
