/**
 * Real minute data for job tests: the UCI Occupancy Detection set (/work/shared/data, see its
 * README), written through the warehouse's normal `writeBatch` path.
 *
 *   const rows = loadOccupancy({ limit: 1500 });
 *   await writeOccupancy(warehouse, sim, rows, { sensors: ['room-a', 'room-b'] });
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Warehouse } from '../../src/core/sinks.js';
import type { EpochMs, Reading, SpoolRecord } from '../../src/core/types.js';
import { batchOf, reading, type SpoolSim } from './batches.js';

const DATA = fileURLToPath(new URL('../../../shared/data/uci-occupancy/', import.meta.url));

export interface OccupancyRow {
  ts: EpochMs;
  temperature: number;
  humidity: number;
  light: number;
  co2: number;
  humidity_ratio: number;
}

export const OCCUPANCY_METRICS = ['temperature', 'humidity', 'light', 'co2', 'humidity_ratio'] as const;

/** Rows of datatraining.txt (2015-02-04 17:51 onwards, one a minute, some at :59 s), in file order. */
export function loadOccupancy(opts: { limit?: number; file?: string } = {}): OccupancyRow[] {
  const text = readFileSync(DATA + (opts.file ?? 'datatraining.txt'), 'utf8');
  const out: OccupancyRow[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    if (!line.trim()) continue;
    const f = line.split(',').map((s) => s.replace(/"/g, ''));
    // "row","date",Temperature,Humidity,Light,CO2,HumidityRatio,Occupancy
    out.push({
      ts: Date.parse(f[1].replace(' ', 'T') + 'Z'),
      temperature: Number(f[2]),
      humidity: Number(f[3]),
      light: Number(f[4]),
      co2: Number(f[5]),
      humidity_ratio: Number(f[6]),
    });
    if (opts.limit && out.length >= opts.limit) break;
  }
  return out;
}

/**
 * Readings of one row for `sensor`. Sensors after the first are made distinct: their clock is
 * `index * 13` s later and their values are offset by `index * 0.25`.
 */
export function occupancyReadings(row: OccupancyRow, sensor: string, index = 0): Reading[] {
  return OCCUPANCY_METRICS.map((m) => reading(sensor, m, row.ts + index * 13_000, row[m] + index * 0.25));
}

/**
 * Writes rows for each sensor through writeBatch, in batches of `batchSize` spool records
 * (optionally reordered by `order`, e.g. a seeded shuffle, for out-of-order arrival).
 */
export async function writeOccupancy(
  w: Warehouse,
  sim: SpoolSim,
  rows: OccupancyRow[],
  opts: { sensors?: string[]; batchSize?: number; receivedAt?: (row: OccupancyRow) => EpochMs; order?: <T>(items: T[]) => T[] } = {},
): Promise<number> {
  const sensors = opts.sensors ?? ['room-a'];
  const records: SpoolRecord[] = [];
  for (const row of rows) {
    for (const [i, s] of sensors.entries()) {
      records.push(sim.message(occupancyReadings(row, s, i), { receivedAt: opts.receivedAt?.(row) ?? row.ts + 1000, deviceId: s }));
    }
  }
  // Reordering the records (e.g. shuffling) makes readings arrive out of order; offsets stay as the
  // spool gave them, so each batch is still a contiguous offset range.
  const ordered = opts.order ? opts.order(records.map((r) => ({ ...r }))) : records;
  ordered.forEach((r, i) => (r.offset = records[i].offset));
  const size = opts.batchSize ?? 1000;
  let inserted = 0;
  for (let i = 0; i < ordered.length; i += size) inserted += (await w.writeBatch(batchOf(ordered.slice(i, i + size)))).inserted;
  return inserted;
}
