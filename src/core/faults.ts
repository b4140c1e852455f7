import { writeSync } from 'node:fs';

/**
 * Crash points for the fault-injection tests. With SENSORPIPE_CRASH_AT=<point>:<n> the process kills
 * itself with SIGKILL the n-th time it passes <point>, exactly as a power cut would, at a place a
 * random kill would rarely hit (between a file's write and its rename, between two sink commits, …).
 * Unset (always, outside tests) it costs one comparison.
 */
const spec = process.env.SENSORPIPE_CRASH_AT ?? '';
const [target, nth] = spec.split(':');
let remaining = Number(nth) || 1;
let armed = false;

/** Called once the process takes traffic, so the count starts with live work, not the start-up replay. */
export function armCrashPoints(): void {
  armed = true;
}

export function crashPointsArmed(): boolean {
  return armed;
}

export function crashPoint(name: string): void {
  if (spec === '' || !armed || name !== target) return;
  remaining -= 1;
  if (remaining <= 0) {
    // writeSync: from a worker thread process.stderr is asynchronous and would die unwritten.
    writeSync(2, `SENSORPIPE_CRASH_AT: killing the process at ${name}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
