/**
 * What /metrics costs the pipeline: the writer calls `SensorpipeMetrics.warehouseCommitted` once per
 * batch (counters, two latency observations and a last-seen update per reading), and a scrape
 * renders every series. Batches of 500 messages × 10 readings (5000 readings, the default
 * writer.batchMaxRecords scale) from `--sensors` sensors; `--labels` of them get their own label.
 *
 *   node --import tsx bench/metrics-overhead.ts [--sensors 10000] [--labels 500] [--batches 100]
 *
 * Writes bench/results/metrics-overhead.json. Takes a few seconds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SinkBatch, SpoolRecord } from '../src/core/types.js';
import { SensorpipeMetrics } from '../src/observability/metrics.js';

const { values } = parseArgs({ options: { sensors: { type: 'string', default: '10000' }, labels: { type: 'string', default: '500' }, batches: { type: 'string', default: '100' } } });
const sensors = Number(values.sensors);
const labels = Number(values.labels);
const nBatches = Number(values.batches);
const T = Date.UTC(2026, 11, 3, 12);

const batches: SinkBatch[] = [];
let offset = 0;
for (let b = 0; b < nBatches; b++) {
  const records: SpoolRecord[] = [];
  for (let r = 0; r < 500; r++) {
    offset++;
    const sensorId = `s-${(offset * 7919) % sensors}`;
    records.push({
      kind: 'message',
      offset,
      message: { source: 'mqtt', topic: `sensors/${sensorId}/telemetry`, deviceId: null, receivedAt: T - 1000, payload: Buffer.alloc(0) },
      readings: Array.from({ length: 10 }, (_, i) => ({ sensorId, metric: `m${i}`, ts: T - 2000, value: i, seq: null })),
      quarantined: [],
    });
  }
  batches.push({ fromOffset: records[0].offset, toOffset: offset, records });
}

const perBatch: number[] = [];
let metrics!: SensorpipeMetrics;
for (let rep = 0; rep < 5; rep++) {
  metrics = new SensorpipeMetrics({ clock: { now: () => T }, maxSensorLabels: labels, processMetrics: false });
  for (const batch of batches) {
    const t0 = performance.now();
    metrics.warehouseCommitted(batch, { inserted: 5000, duplicates: 0, conflicts: [] }, T);
    perBatch.push(performance.now() - t0);
  }
}
const scrapes: number[] = [];
let bytes = 0;
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  bytes = (await metrics.render()).body.length;
  scrapes.push(performance.now() - t0);
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { minMs: +s[0].toFixed(2), medianMs: +s[Math.floor(s.length / 2)].toFixed(2) };
};
const result = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, loadavg1m: +loadavg()[0].toFixed(2) },
  sensors,
  labels,
  readingsPerBatch: 5000,
  observePerBatch: stats(perBatch),
  scrape: { ...stats(scrapes), bytes },
};
console.log(JSON.stringify(result, null, 2));
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'metrics-overhead.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
