/**
 * Data for the quality checks' tests and measurements: a seeded PRNG, parsers of the two UCI
 * datasets in /work/shared/data (or $SENSORPIPE_DATA_DIR / ../shared/data), and a synthetic
 * dataset. A dataset is a list of samples (one sensor, one timestamp, several metrics), the shape
 * of one device message; quality-load.ts sends them through validation and writeBatch.
 *
 * UCI datasets (CC BY 4.0):
 * - Air Quality: S. De Vito et al., "On field calibration of an electronic nose for benzene
 *   estimation in an urban pollution monitoring scenario", Sensors and Actuators B: Chemical 129(2),
 *   750-757, 2008. UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/360/air+quality
 * - Occupancy Detection: L. M. Candanedo, V. Feldheim, "Accurate occupancy detection of an office
 *   room from light, temperature, humidity and CO2 measurements using statistical learning
 *   models", Energy and Buildings 112, 28-39, 2016. UCI Machine Learning Repository,
 *   https://archive.ics.uci.edu/dataset/357/occupancy+detection
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricSpec } from '../../src/core/registry.js';
import { createRng } from '../../src/sim/prng.js';

export interface Sample {
  sensorId: string;
  ts: number;
  values: Record<string, number>;
}

export interface SensorDef {
  sensorId: string;
  location: string | null;
  intervalS: number;
  metrics: Record<string, MetricSpec>;
}

export interface Dataset {
  name: string;
  sensors: SensorDef[];
  /** Time-ordered. */
  samples: Sample[];
}

/** A seeded uniform [0, 1) source: the simulator's PRNG (src/sim/prng.ts). */
export function seededRandom(seed: number | string): () => number {
  const rng = createRng(seed);
  return () => rng.next();
}

/** Standard normal deviate (Box-Muller). */
export function gauss(rnd: () => number): number {
  let u = 0;
  while (u === 0) u = rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/** Where the shared datasets live. */
export function dataDir(): string {
  const candidates = [
    process.env.SENSORPIPE_DATA_DIR,
    '/work/shared/data',
    resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data'),
  ].filter((x): x is string => typeof x === 'string' && x !== '');
  for (const c of candidates) if (existsSync(join(c, 'uci-occupancy'))) return c;
  throw new Error(`quality-data: datasets not found in ${candidates.join(', ')} (set SENSORPIPE_DATA_DIR)`);
}

// ---------------------------------------------------------------- UCI Occupancy Detection

export const OCCUPANCY_SENSOR = 'uci-occupancy-room';
export const OCCUPANCY_FILES = ['datatest.txt', 'datatraining.txt', 'datatest2.txt'] as const;

const OCC_METRICS: Record<string, MetricSpec> = {
  temperature: { unit: '°C', min: -10, max: 50 },
  humidity: { unit: '%', min: 0, max: 100 },
  light: { unit: 'lx', min: 0, max: 5000 },
  co2: { unit: 'ppm', min: 0, max: 10000 },
  humidity_ratio: { unit: 'kg/kg', min: 0, max: 0.1 },
};

/**
 * One occupancy file. The header names 7 columns but every row has 8 (a quoted row number
 * first); the date is quoted in two files and not in datatest2.txt; some timestamps fall on :59
 * (clock jitter) and are kept as they are. Times are taken as UTC. The `Occupancy` label is not a
 * measurement and is dropped.
 */
export function parseOccupancy(text: string, sensorId = OCCUPANCY_SENSOR): Sample[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0].split(',').map((h) => h.replace(/"/g, ''));
  const expect = ['date', 'Temperature', 'Humidity', 'Light', 'CO2', 'HumidityRatio', 'Occupancy'];
  if (header.join() !== expect.join()) throw new Error(`occupancy: unexpected header ${header.join()}`);
  const out: Sample[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(',').map((x) => x.replace(/"/g, ''));
    if (f.length !== 8) throw new Error(`occupancy: expected 8 fields (row number + 7), got ${f.length}: ${line}`);
    const ts = Date.parse(`${f[1].replace(' ', 'T')}Z`);
    if (Number.isNaN(ts)) throw new Error(`occupancy: bad date ${f[1]}`);
    const [temperature, humidity, light, co2, humidity_ratio] = f.slice(2, 7).map(Number);
    out.push({ sensorId, ts, values: { temperature, humidity, light, co2, humidity_ratio } });
  }
  return out;
}

export function occupancyDataset(files: readonly string[] = OCCUPANCY_FILES): Dataset {
  const dir = join(dataDir(), 'uci-occupancy');
  const byTs = new Map<number, Sample>();
  for (const f of files) for (const s of parseOccupancy(readFileSync(join(dir, f), 'utf8'))) byTs.set(s.ts, s);
  return {
    name: 'uci-occupancy',
    sensors: [{ sensorId: OCCUPANCY_SENSOR, location: 'uci-office', intervalS: 60, metrics: OCC_METRICS }],
    samples: [...byTs.values()].sort((a, b) => a.ts - b.ts),
  };
}

// ---------------------------------------------------------------- UCI Air Quality

export const AIR_SENSOR = 'uci-air-multisensor';

/** Column -> metric name. NMHC(GT) is missing in ~90 % of the rows and kept (completeness sees it). */
const AIR_COLUMNS: [string, string, MetricSpec][] = [
  ['CO(GT)', 'co_gt', { unit: 'mg/m3', min: 0, max: 50 }],
  ['PT08.S1(CO)', 'pt08_s1_co', { unit: null, min: 0, max: 5000 }],
  ['NMHC(GT)', 'nmhc_gt', { unit: 'ug/m3', min: 0, max: 5000 }],
  ['C6H6(GT)', 'c6h6_gt', { unit: 'ug/m3', min: 0, max: 500 }],
  ['PT08.S2(NMHC)', 'pt08_s2_nmhc', { unit: null, min: 0, max: 5000 }],
  ['NOx(GT)', 'nox_gt', { unit: 'ppb', min: 0, max: 5000 }],
  ['PT08.S3(NOx)', 'pt08_s3_nox', { unit: null, min: 0, max: 5000 }],
  ['NO2(GT)', 'no2_gt', { unit: 'ug/m3', min: 0, max: 1000 }],
  ['PT08.S4(NO2)', 'pt08_s4_no2', { unit: null, min: 0, max: 5000 }],
  ['PT08.S5(O3)', 'pt08_s5_o3', { unit: null, min: 0, max: 5000 }],
  ['T', 'temperature', { unit: '°C', min: -30, max: 60 }],
  ['RH', 'humidity', { unit: '%', min: 0, max: 100 }],
  ['AH', 'abs_humidity', { unit: 'g/m3', min: 0, max: 100 }],
];

/**
 * `;` separated, decimal commas, dates dd/mm/yyyy, times HH.MM.SS, CRLF, two empty trailing
 * columns, trailing rows of only `;`. -200 (also `-200,0`) means missing: the reading is not sent.
 * Times are local to the device (Italy) and taken as UTC here: the checks only need a regular clock.
 */
export function parseAirQuality(text: string, sensorId = AIR_SENSOR): Sample[] {
  const lines = text.split(/\r?\n/);
  const header = lines[0].split(';');
  const idx = AIR_COLUMNS.map(([col]) => {
    const i = header.indexOf(col);
    if (i < 0) throw new Error(`air quality: column ${col} missing from header ${header.join(';')}`);
    return i;
  });
  const out: Sample[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(';');
    if (!/^\d{2}\/\d{2}\/\d{4}$/.test(f[0] ?? '')) continue; // the `;;;` tail
    const [dd, mm, yyyy] = f[0].split('/').map(Number);
    const [hh, mi, ss] = f[1].split('.').map(Number);
    const ts = Date.UTC(yyyy, mm - 1, dd, hh, mi, ss);
    const values: Record<string, number> = {};
    AIR_COLUMNS.forEach(([, metric], k) => {
      const raw = (f[idx[k]] ?? '').trim();
      if (raw === '') return;
      const v = Number(raw.replace(',', '.'));
      if (!Number.isFinite(v) || v === -200) return;
      values[metric] = v;
    });
    if (Object.keys(values).length > 0) out.push({ sensorId, ts, values });
  }
  return out;
}

export function airQualityDataset(): Dataset {
  const text = readFileSync(join(dataDir(), 'uci-air-quality', 'AirQualityUCI.csv'), 'latin1');
  return {
    name: 'uci-air-quality',
    sensors: [{ sensorId: AIR_SENSOR, location: 'uci-air-station', intervalS: 3600, metrics: Object.fromEntries(AIR_COLUMNS.map(([, m, spec]) => [m, spec])) }],
    samples: parseAirQuality(text).sort((a, b) => a.ts - b.ts),
  };
}

// ---------------------------------------------------------------- synthetic

export const SYNTH_SENSOR = 'synthetic-room';

/**
 * Minute data for `days` days of one room: temperature (daily cycle, AR(1) weather, noise, 0.01 °C
 * resolution, sample-and-hold: the device resends its value until it changes by a step of 0.05),
 * humidity (anti-correlated, noise), co2 (occupancy steps on working days, slow decay), light
 * (0 at night, on/off with daylight noise during the day), all from one seed.
 */
export function syntheticDataset(seed: number, days = 21, start = Date.UTC(2024, 0, 1)): Dataset {
  const rnd = seededRandom(seed);
  const samples: Sample[] = [];
  let weather = 0;
  let heldT = NaN;
  let co2 = 420;
  for (let i = 0; i < days * 1440; i++) {
    const ts = start + i * 60_000;
    const hour = (i % 1440) / 60;
    const weekday = Math.floor(i / 1440) % 7 < 5;
    const occupied = weekday && hour >= 8.5 && hour < 17.5 && !(hour >= 12 && hour < 13);
    weather = 0.999 * weather + 0.02 * gauss(rnd);
    const tTrue = 21 + 1.5 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + weather + (occupied ? 0.6 : 0) + 0.03 * gauss(rnd);
    if (!(Math.abs(tTrue - heldT) < 0.05)) heldT = Math.round(tTrue * 100) / 100;
    const humidity = Math.round((40 - 2.5 * (tTrue - 21) + 0.4 * gauss(rnd)) * 100) / 100;
    co2 += occupied ? (900 - co2) * 0.02 : (420 - co2) * 0.01;
    const co2r = Math.round(co2 + 4 * gauss(rnd));
    const light = occupied ? Math.round(420 + 30 * Math.sin((hour / 24) * Math.PI) + 5 * gauss(rnd)) : 0;
    samples.push({ sensorId: SYNTH_SENSOR, ts, values: { temperature: heldT, humidity, co2: co2r, light } });
  }
  return {
    name: 'synthetic',
    sensors: [
      {
        sensorId: SYNTH_SENSOR,
        location: 'synthetic-site',
        intervalS: 60,
        metrics: {
          temperature: { unit: '°C', min: -10, max: 50 },
          humidity: { unit: '%', min: 0, max: 100 },
          co2: { unit: 'ppm', min: 0, max: 10000 },
          light: { unit: 'lx', min: 0, max: 5000 },
        },
      },
    ],
    samples,
  };
}
