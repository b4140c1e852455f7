/**
 * A fleet for the weekly digest's tests: two ISO weeks (2015-W06 and 2015-W07) of the real UCI
 * Occupancy minute data for four sensors, loaded through validation and Warehouse.writeBatch
 * (quality-load.ts), with problems injected the way they happen:
 *
 * - room-d goes silent on 2015-02-12 12:00 and stays silent (the top problem of W07);
 * - room-b sends 30 temperatures of 999 °C (out_of_range) and 12 humidities that are not numbers
 *   (JSON null: non_finite) in W07;
 * - room-c sends 5 negative CO2 values (out_of_range) in W06, so the quarantine changes week to week.
 *
 * Every sensor also has the dataset's own gap (2015-02-10 09:33 .. 2015-02-11 14:48).
 * Sensor i is shifted by i x 13 s and its values by i x 0.25 so the four are distinct.
 */
import type { MetricSpec } from '../../src/core/registry.js';
import type { Warehouse } from '../../src/core/sinks.js';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb-warehouse.js';
import { parseIsoWeek } from '../../src/monitoring/digest/iso-week.js';
import { occupancyDataset, type Sample, type SensorDef } from './quality-data.js';
import { loadSamples, registerSensors } from './quality-load.js';

export const W06 = parseIsoWeek('2015-W06')!;
export const W07 = parseIsoWeek('2015-W07')!;
export const SILENT_FROM = Date.parse('2015-02-12T12:00:00Z');
/** The digest is made on the Monday after W07, as the schedule would. */
export const DIGEST_TIME = Date.parse('2015-02-16T06:00:00Z');

const METRICS: Record<string, MetricSpec> = {
  temperature: { unit: '°C', min: -10, max: 50 },
  humidity: { unit: '%', min: 0, max: 100 },
  co2: { unit: 'ppm', min: 0, max: 10000 },
};
export const SENSORS: SensorDef[] = ['room-a', 'room-b', 'room-c', 'room-d'].map((sensorId) => ({ sensorId, location: 'uci-office', intervalS: 60, metrics: METRICS }));

export interface Fleet {
  samples: Sample[];
  injected: { week: string; sensorId: string; reason: string; items: number }[];
}

export function fleetSamples(): Fleet {
  const base = occupancyDataset().samples.filter((s) => s.ts >= W06.start && s.ts < W07.end);
  const samples: Sample[] = [];
  for (const [i, def] of SENSORS.entries()) {
    for (const s of base) {
      const ts = s.ts + i * 13_000;
      if (def.sensorId === 'room-d' && ts >= SILENT_FROM) continue;
      samples.push({ sensorId: def.sensorId, ts, values: { temperature: s.values.temperature + i * 0.25, humidity: s.values.humidity + i * 0.25, co2: s.values.co2 + i * 0.25 } });
    }
  }
  const injected: Fleet['injected'] = [];
  const spoil = (sensorId: string, from: number, n: number, metric: string, value: number, week: string, reason: string) => {
    const hits = samples.filter((s) => s.sensorId === sensorId && s.ts >= from).slice(0, n);
    if (hits.length !== n) throw new Error(`digest-fleet: only ${hits.length} samples of ${sensorId} after ${new Date(from).toISOString()}`);
    for (const h of hits) h.values = { ...h.values, [metric]: value };
    injected.push({ week, sensorId, reason, items: n });
  };
  spoil('room-b', Date.parse('2015-02-13T00:00:00Z'), 30, 'temperature', 999, '2015-W07', 'out_of_range');
  spoil('room-b', Date.parse('2015-02-14T00:00:00Z'), 12, 'humidity', Number.NaN, '2015-W07', 'non_finite');
  spoil('room-c', Date.parse('2015-02-06T00:00:00Z'), 5, 'co2', -5, '2015-W06', 'out_of_range');
  samples.sort((a, b) => a.ts - b.ts || a.sensorId.localeCompare(b.sensorId));
  return { samples, injected };
}

/** Registers the sensors and writes the fleet into any warehouse (open it with a clock at DIGEST_TIME). */
export async function loadFleet(w: Warehouse, fleet: Fleet): Promise<void> {
  await registerSensors(w, SENSORS);
  await loadSamples(w, SENSORS, fleet.samples, { batch: 5000 });
}

/** A DuckDB warehouse file at `path` holding the fleet (registered at DIGEST_TIME). */
export async function writeFleet(path: string, fleet: Fleet): Promise<DuckDbWarehouse> {
  const w = await DuckDbWarehouse.open({ path, metricDefaults: {}, clock: { now: () => DIGEST_TIME } });
  await loadFleet(w, fleet);
  return w;
}
