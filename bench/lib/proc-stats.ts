/**
 * CPU time and peak memory of a process by pid, read from /proc (Linux): works the same for a
 * Node child, Mosquitto or Node-RED, so every target is measured alike from outside.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100;

/** User + system CPU seconds used so far, or null when the process is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Peak resident memory (VmHWM) in MB, or null when the process is gone. */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Sum over the target's processes (broker + subscriber count together). */
export function totalCpu(pids: number[]): number {
  return pids.reduce((s, p) => s + (cpuSeconds(p) ?? 0), 0);
}
