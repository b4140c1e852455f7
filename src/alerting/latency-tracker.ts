/**
 * Durations of POST /v1/sql, kept in memory for the query_latency rule (and /metrics). Samples
 * older than `keepMs` (default 25 h: the previous day plus the recent window) are dropped, and at
 * most `maxSamples` are kept (the oldest go first), so memory stays bounded under heavy use.
 * A restart forgets them: the learned baseline starts over (a configured baselineMs does not).
 */
import type { EpochMs } from '../core/types.js';

export class LatencyTracker {
  private at: EpochMs[] = [];
  private ms: number[] = [];
  constructor(private readonly opts: { keepMs?: number; maxSamples?: number } = {}) {}

  record(durationMs: number, at: EpochMs): void {
    this.at.push(at);
    this.ms.push(durationMs);
    const max = this.opts.maxSamples ?? 100_000;
    if (this.at.length > max * 1.1) this.drop(this.at.length - max);
  }

  /** Count and p95 (nearest rank) of the samples with from <= at < to. */
  p95(from: EpochMs, to: EpochMs): { count: number; p95Ms: number | null } {
    const vals: number[] = [];
    for (let i = 0; i < this.at.length; i++) if (this.at[i] >= from && this.at[i] < to) vals.push(this.ms[i]);
    if (vals.length === 0) return { count: 0, p95Ms: null };
    vals.sort((a, b) => a - b);
    return { count: vals.length, p95Ms: vals[Math.ceil(0.95 * vals.length) - 1] };
  }

  /** Forgets samples older than the keep window. */
  prune(now: EpochMs): void {
    const cutoff = now - (this.opts.keepMs ?? 25 * 3_600_000);
    let n = 0;
    while (n < this.at.length && this.at[n] < cutoff) n++;
    if (n) this.drop(n);
  }

  get size(): number {
    return this.at.length;
  }

  private drop(n: number): void {
    this.at = this.at.slice(n);
    this.ms = this.ms.slice(n);
  }
}
