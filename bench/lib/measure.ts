/**
 * One rate step against one target: offer the rate, poll what is queryable every 100 ms, wait for
 * the rest, then check by (sensor, seq) that nothing is missing. Latency of message k = the first
 * poll that saw at least k+1 messages minus its publish time (messages are counted in publish order,
 * so with several connections a message can be attributed a neighbour's time; 100 ms resolution).
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttLoad } from './load.js';
import { peakRssMb, totalCpu } from './proc-stats.js';
import type { Target } from './targets.js';
import { READINGS_PER_MESSAGE } from './workload.js';

export interface StepResult {
  offered: number;
  sent: number;
  /** Messages per second the generator got out (below offered: it could not keep up). */
  achieved: number;
  acked: number;
  failed: number;
  /** Messages of this step queryable within the drain time. */
  delivered: number;
  /** Cumulative published minus distinct (sensor, seq) queryable. */
  missing: number;
  /** Queryable messages per second over the step (delivered / step seconds). */
  throughput: number;
  p50Ms: number | null;
  p99Ms: number | null;
  cpuSecondsPerMillionReadings: number | null;
  peakRssMb: number;
  held: boolean;
  why: string;
  /** 1-minute load average at the end of the step: the machine is shared. */
  load1: number;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}

export async function measureStep(target: Target, load: MqttLoad, rate: number, seconds: number, drainMs: number): Promise<StepResult> {
  const cpu0 = totalCpu(target.pids());
  const before = await target.delivered();
  const samples: { t: number; n: number }[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const n = await target.delivered().catch(() => -1);
      if (n >= 0) samples.push({ t: Date.now(), n });
      await sleep(100);
    }
  })();
  const step = await load.step(rate, seconds);
  const total = load.next;
  const drainEnd = Date.now() + drainMs;
  while (Date.now() < drainEnd && (samples.at(-1)?.n ?? 0) < total) await sleep(100);
  polling = false;
  await poller;
  const distinct = await target.distinct();
  const cpu = totalCpu(target.pids()) - cpu0;
  const rss = target.pids().reduce((s, p) => s + (peakRssMb(p) ?? 0), 0);

  const lat: number[] = [];
  let si = 0;
  for (let k = step.from; k < total; k++) {
    while (si < samples.length && samples[si].n <= k) si++;
    if (si === samples.length) break;
    lat.push(samples[si].t - load.publishedAt[k]);
  }
  lat.sort((a, b) => a - b);
  const delivered = Math.max(0, (samples.at(-1)?.n ?? before) - before);
  const missing = total - distinct;
  const achieved = Math.round(step.sent / seconds);
  const why =
    step.failed > 0 ? `${step.failed} publishes failed` :
    step.acked < step.sent ? `${step.sent - step.acked} PUBACKs missing after 15 s` :
    missing > 0 ? `${missing} messages not queryable within ${drainMs / 1000} s after the step` :
    achieved < 0.95 * rate
      ? `generator reached only ${achieved} msg/s (${step.windowFullTicks > 0 ? 'in-flight window of unacknowledged messages full: the target acknowledges slower' : 'window never full: the generator itself could not publish faster'})`
      : 'ok';
  return {
    offered: rate,
    sent: step.sent,
    achieved,
    acked: step.acked,
    failed: step.failed,
    delivered,
    missing,
    throughput: Math.round(delivered / seconds),
    p50Ms: quantile(lat, 0.5),
    p99Ms: quantile(lat, 0.99),
    cpuSecondsPerMillionReadings: delivered > 0 ? Math.round((cpu / (delivered * READINGS_PER_MESSAGE)) * 1e6 * 10) / 10 : null,
    peakRssMb: rss,
    held: why === 'ok',
    why,
    load1: Math.round(loadavg()[0] * 10) / 10,
  };
}
