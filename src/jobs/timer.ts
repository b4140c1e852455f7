/**
 * The timer seam of the scheduler: production uses `setTimeout` (unref'd, so a pending job timer
 * never keeps the process alive); tests pass a `ManualTimer` and call `Scheduler.tick()` with a
 * fake clock, so they need no sleeps.
 */
export interface Timer {
  set(fn: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** setTimeout cannot wait longer than 2^31-1 ms; the scheduler re-arms at least this often anyway. */
export const MAX_TIMER_DELAY_MS = 3_600_000;

export const systemTimer: Timer = {
  set: (fn, delayMs) => setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS)).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A timer for tests: remembers what is armed; `fire()` runs it. */
export class ManualTimer implements Timer {
  armed: { fn: () => void; delayMs: number } | null = null;
  private seq = 0;
  set(fn: () => void, delayMs: number): unknown {
    const id = ++this.seq;
    this.armed = { fn, delayMs };
    return id;
  }
  clear(): void {
    this.armed = null;
  }
  /** Runs the armed callback (if any) and disarms it. */
  fire(): boolean {
    const a = this.armed;
    this.armed = null;
    a?.fn();
    return a !== null;
  }
}
