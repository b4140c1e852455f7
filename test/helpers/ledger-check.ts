// The check every crash test ends with: what the simulator's ledger says was acknowledged, against
// what the warehouse stores.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LedgerLine } from '../../src/sim/simulate.js';

/** Every acknowledged message of these ledger files (JSON lines). */
export function readLedgers(files: string[]): LedgerLine[] {
  return files.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerLine));
}

/** Readings the ledger's valid messages carry. */
export function readingCount(acked: LedgerLine[]): number {
  return acked.reduce((n, l) => n + Object.keys(l.readings ?? {}).length, 0);
}

export interface StoredReading {
  sensor_id: string;
  metric: string;
  /** Epoch milliseconds, as a number or a decimal string. */
  ts: number | string | bigint;
  value: number;
  /** Rows with the same (sensor_id, metric, ts). */
  n: number | string;
}

/**
 * How many acknowledged readings are missing, stored with another value, or stored more than
 * once (0 is the delivery contract), and how many distinct readings are stored in all.
 */
export function ledgerMismatches(acked: LedgerLine[], rows: StoredReading[]): { wrong: number; stored: number } {
  const stored = new Map(rows.map((r) => [`${r.sensor_id}|${r.metric}|${String(r.ts)}`, { value: Number(r.value), n: Number(r.n) }]));
  let wrong = 0;
  for (const l of acked) {
    for (const [metric, value] of Object.entries(l.readings ?? {})) {
      const s = stored.get(`${l.sensor}|${metric}|${Date.parse(l.ts!)}`);
      if (!s || s.value !== value || s.n !== 1) wrong++;
    }
  }
  return { wrong, stored: stored.size };
}

/** The readings of a DuckDB warehouse file (opened read-only, closed again), in the shape above. */
export async function duckdbReadings(path: string): Promise<StoredReading[]> {
  const db = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  try {
    const res = await conn.runAndReadAll('select sensor_id, metric, epoch_ms(ts)::bigint ts, value, count(*) over (partition by sensor_id, metric, ts)::int n from readings');
    return res.getRowObjectsJS() as unknown as StoredReading[];
  } finally {
    conn.closeSync();
  }
}
