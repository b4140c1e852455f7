/**
 * HTTP bulk ingest: NDJSON batches POSTed to /v1/ingest by a few concurrent senders, closed loop
 * (a sender posts its next batch when the 200 of the last one came back, i.e. after the spool's
 * fsync), for a fixed time; then wait until everything is in the warehouse and check by (sensor, seq).
 * Timestamps are one second apart per sensor in the past hour, so no two readings collide.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { peakRssMb, totalCpu } from './proc-stats.js';
import type { Target } from './targets.js';
import { READINGS_PER_MESSAGE, type Workload } from './workload.js';

export interface HttpBulkResult {
  batchRecords: number;
  concurrency: number;
  seconds: number;
  records: number;
  readings: number;
  /** Readings acknowledged (HTTP 200) per second. */
  ackedReadingsPerS: number;
  /** Readings per second from the first POST until all were queryable in the warehouse. */
  queryableReadingsPerS: number | null;
  missing: number;
  failedRequests: number;
  cpuSecondsPerMillionReadings: number;
  peakRssMb: number;
}

export async function httpBulk(target: Target & { httpUrl: string; token: string }, w: Workload, seconds: number, batchRecords = 5000, concurrency = 4, drainMs = 60_000): Promise<HttpBulkResult> {
  const base = Date.now() - 3_600_000;
  let next = 0;
  let failed = 0;
  const batch = (n = batchRecords): string => {
    const lines: string[] = [];
    for (let k = 0; k < n; k++, next++) lines.push(w.ndjsonLine(next, base + w.seqOf(next) * 1000));
    return lines.join('\n');
  };
  const post = (body: string) => fetch(`${target.httpUrl}/v1/ingest`, { method: 'POST', headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/x-ndjson' }, body });
  // Warm-up: one record per sensor, so first-seen sensor registration is not in the timed part.
  const warm = await post(batch(w.sensors));
  if (!warm.ok) throw new Error(`http-bulk warm-up: /v1/ingest answered ${warm.status}: ${await warm.text()}`);
  const warmEnd = Date.now() + drainMs * 3;
  while (Date.now() < warmEnd && (await target.delivered()) < next) await sleep(200);
  const before = next;
  const cpu0 = totalCpu(target.pids());
  const start = performance.now();
  const end = start + seconds * 1000;
  let acked = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const body = batch();
        const res = await post(body);
        await res.arrayBuffer();
        if (res.ok) acked += batchRecords;
        else failed++;
      }
    }),
  );
  const ackedMs = performance.now() - start;
  const drainEnd = Date.now() + drainMs;
  let n = 0;
  while (Date.now() < drainEnd && (n = await target.delivered()) < before + acked) await sleep(100);
  const queryableMs = performance.now() - start;
  const distinct = await target.distinct();
  const cpu = totalCpu(target.pids()) - cpu0;
  const readings = acked * READINGS_PER_MESSAGE;
  return {
    batchRecords,
    concurrency,
    seconds,
    records: acked,
    readings,
    ackedReadingsPerS: Math.round(readings / (ackedMs / 1000)),
    queryableReadingsPerS: n >= before + acked ? Math.round(readings / (queryableMs / 1000)) : null,
    missing: before + acked - distinct,
    failedRequests: failed,
    cpuSecondsPerMillionReadings: Math.round((cpu / Math.max(1, readings)) * 1e6 * 10) / 10,
    peakRssMb: target.pids().reduce((s, p) => s + (peakRssMb(p) ?? 0), 0),
  };
}
