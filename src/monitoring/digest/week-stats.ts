/**
 * One week of the fleet, measured in the warehouse: per sensor the readings and samples against
 * what its registry interval promises, silence and the longest gap, quarantine by reason, quality
 * findings by check and severity, and samples per hour (the sparkline). Everything is plain SQL
 * through `Warehouse.query` (one SELECT each, read-only, so it also works on a warehouse the CLI
 * opened read-only and on PostgreSQL): `CAST('…' AS TIMESTAMP)`, `date_trunc`, window functions.
 * The only values inlined into the SQL are timestamps formatted from numbers.
 */
import type { Warehouse } from '../../core/sinks.js';
import type { EpochMs } from '../../core/types.js';
import { msOf, numOf, sqlString, sqlTs } from '../../jobs/sql.js';
import type { IsoWeek } from './iso-week.js';

const HOUR = 3_600_000;

export type Severity = 'critical' | 'warning' | 'info';
export type SeverityCounts = Record<Severity, number>;

export interface FindingExample {
  check: string;
  severity: Severity;
  metric: string | null;
  detail: string;
  windowStart: string;
}

export interface SensorWeek {
  sensorId: string;
  location: string | null;
  /** Declared `expected_interval_s`; null = not declared, so completeness is not measured. */
  intervalS: number | null;
  /** Stored readings (one per metric value) with `ts` in the week. */
  readings: number;
  /** Distinct timestamps: one message with five metrics is one sample. */
  samples: number;
  /** Samples the interval promises for the part of the week the sensor existed (null: no interval). */
  expected: number | null;
  completeness: number | null;
  /** Newest reading before the week's end (may be before the week). */
  lastSeen: EpochMs | null;
  /** Seconds from lastSeen (or from when the sensor was expected) to the end of the measured period. */
  silentForS: number | null;
  longestGap: { from: EpochMs; to: EpochMs; seconds: number } | null;
  /** Quarantined items that arrived in the week, by reason. */
  quarantineByReason: Record<string, number>;
  quarantined: number;
  /** Quarantined / (quarantined + readings) by arrival time in the week. */
  quarantineRate: number | null;
  findings: SeverityCounts;
  findingsByCheck: Record<string, SeverityCounts>;
  /** The worst, newest finding of each check. */
  examples: FindingExample[];
  /** Spike and rate-of-change findings: readings judged implausible. */
  outliers: number;
  /** Samples per hour of the week (168 values; fewer when the week is not over). */
  hourly: number[];
}

export interface WeekStats {
  week: IsoWeek;
  /** End of the measured period: the week's end, or now for the current week. */
  until: EpochMs;
  sensors: SensorWeek[];
  /** Quarantined items that name no sensor (invalid JSON, a bad id), by reason. */
  unattributedQuarantine: Record<string, number>;
  /** The accounting identity for the week (ingest_counts, by arrival hour). */
  accounting: { received: number; accepted: number; quarantined: number; rejected: number; duplicates: number };
}

export type Rows = (sql: string) => Promise<Record<string, unknown>[]>;

/** Rows of a warehouse query, without the analyst row cap (a week has at most sensors x 168 hourly rows). */
export function warehouseRows(w: Warehouse, timeoutMs = 300_000): Rows {
  return async (sql) => (await w.query(sql, { maxRows: 10_000_000, timeoutMs })).rows;
}

const zero = (): SeverityCounts => ({ critical: 0, warning: 0, info: 0 });
const asSeverity = (s: unknown): Severity => (s === 'critical' || s === 'warning' ? s : 'info');
const num = (v: unknown): number => numOf(v) ?? 0;

/**
 * Measures one week up to `until` (<= week.end). The longest gap is looked for only in sensors
 * whose completeness is below `gapsBelow` (default: every sensor with an interval): it needs a
 * sort of the week's timestamps, the most expensive query here, and a complete sensor has none
 * worth naming.
 */
export async function measureWeek(
  warehouse: Warehouse,
  week: IsoWeek,
  until: EpochMs,
  opts: { rows?: Rows; gapsBelow?: number } = {},
): Promise<WeekStats> {
  const rows = opts.rows ?? warehouseRows(warehouse);
  const end = Math.min(until, week.end);
  const S = `CAST('${sqlTs(week.start)}' AS TIMESTAMP)`;
  const E = `CAST('${sqlTs(end)}' AS TIMESTAMP)`;
  const inWeek = (col: string) => `${col} >= ${S} AND ${col} < ${E}`;

  const [registry, life, hourly, quarantine, received, findings, examples] = await Promise.all([
    rows('SELECT sensor_id, location, expected_interval_s, created_at FROM sensors ORDER BY sensor_id'),
    rows(`SELECT sensor_id, min(ts) AS first_ts, max(ts) AS last_ts FROM readings WHERE ts < ${E} GROUP BY sensor_id`),
    // Per hour: samples (distinct timestamps) and readings; the week's totals are their sums.
    rows(
      `SELECT sensor_id, date_trunc('hour', ts) AS hour, count(DISTINCT ts) AS samples, count(*) AS readings FROM readings
       WHERE ${inWeek('ts')} GROUP BY sensor_id, date_trunc('hour', ts)`,
    ),
    rows(`SELECT sensor_id, reason, count(*) AS items FROM quarantine WHERE ${inWeek('received_at')} GROUP BY sensor_id, reason ORDER BY sensor_id, reason`),
    rows(`SELECT sensor_id, count(*) AS items FROM readings WHERE ${inWeek('received_at')} GROUP BY sensor_id`),
    rows(
      `SELECT sensor_id, "check", severity, count(*) AS n FROM quality_results
       WHERE ${inWeek('window_start')} GROUP BY sensor_id, "check", severity ORDER BY sensor_id, "check", severity`,
    ),
    rows(
      `WITH q AS (
         SELECT sensor_id, "check", severity, metric, detail, window_start,
           ROW_NUMBER() OVER (PARTITION BY sensor_id, "check"
             ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, window_start DESC, metric, detail) AS rn
         FROM quality_results WHERE ${inWeek('window_start')} AND sensor_id IS NOT NULL)
       SELECT sensor_id, "check", severity, metric, detail, window_start FROM q WHERE rn = 1 ORDER BY sensor_id, "check"`,
    ),
  ]);
  const accountingRows = await warehouse.accounting({ from: week.start, to: end });

  const bySensor = <T>(list: Record<string, unknown>[], f: (r: Record<string, unknown>) => T): Map<string, T> =>
    new Map(list.filter((r) => r.sensor_id !== null).map((r) => [String(r.sensor_id), f(r)]));
  const countOf = new Map<string, { readings: number; samples: number }>();
  const lifeOf = bySensor(life, (r) => ({ first: msOf(r.first_ts) as number, last: msOf(r.last_ts) as number }));
  const receivedOf = bySensor(received, (r) => num(r.items));
  const hours = Math.max(0, Math.ceil((end - week.start) / HOUR));
  const hourlyOf = new Map<string, number[]>();
  for (const r of hourly) {
    const id = String(r.sensor_id);
    const h = Math.floor(((msOf(r.hour) as number) - week.start) / HOUR);
    if (!hourlyOf.has(id)) hourlyOf.set(id, new Array<number>(hours).fill(0));
    if (h >= 0 && h < hours) hourlyOf.get(id)![h] = num(r.samples);
    const c = countOf.get(id) ?? countOf.set(id, { readings: 0, samples: 0 }).get(id)!;
    c.readings += num(r.readings);
    c.samples += num(r.samples);
  }
  const quarantineOf = new Map<string, Record<string, number>>();
  const unattributed: Record<string, number> = {};
  for (const r of quarantine) {
    const target = r.sensor_id === null ? unattributed : (quarantineOf.get(String(r.sensor_id)) ?? quarantineOf.set(String(r.sensor_id), {}).get(String(r.sensor_id))!);
    target[String(r.reason)] = (target[String(r.reason)] ?? 0) + num(r.items);
  }
  const findingsOf = new Map<string, Record<string, SeverityCounts>>();
  for (const r of findings) {
    if (r.sensor_id === null) continue;
    const id = String(r.sensor_id);
    const byCheck = findingsOf.get(id) ?? findingsOf.set(id, {}).get(id)!;
    const c = (byCheck[String(r.check)] ??= zero());
    c[asSeverity(r.severity)] += num(r.n);
  }
  const examplesOf = new Map<string, FindingExample[]>();
  for (const r of examples) {
    const id = String(r.sensor_id);
    const list = examplesOf.get(id) ?? examplesOf.set(id, []).get(id)!;
    const ws = msOf(r.window_start);
    list.push({ check: String(r.check), severity: asSeverity(r.severity), metric: (r.metric as string | null) ?? null, detail: String(r.detail), windowStart: new Date(ws ?? 0).toISOString() });
  }

  const sensors: SensorWeek[] = [];
  for (const reg of registry) {
    const id = String(reg.sensor_id);
    const createdAt = msOf(reg.created_at) ?? week.start;
    const lifeSpan = lifeOf.get(id);
    const c = countOf.get(id) ?? { readings: 0, samples: 0 };
    // A sensor that did not exist yet this week (registered later, no reading) is not part of it.
    if (!lifeSpan && createdAt >= end) continue;
    if (lifeSpan && Math.min(lifeSpan.first, createdAt) >= end) continue;
    const interval = numOf(reg.expected_interval_s);
    const intervalS = interval !== null && interval > 0 ? interval : null;
    // Expected from the week start when the sensor reported before it; otherwise from the earlier
    // of its registration and its first reading (as the completeness check does).
    const from = lifeSpan && lifeSpan.first < week.start ? week.start : Math.max(week.start, Math.min(createdAt, lifeSpan?.first ?? createdAt));
    const expected = intervalS === null ? null : Math.max(0, Math.round((end - from) / (intervalS * 1000)));
    const lastSeen = lifeSpan?.last ?? null;
    const silentFrom = lastSeen ?? from;
    const silentForS = Math.max(0, (end - silentFrom) / 1000);
    const q = quarantineOf.get(id) ?? {};
    const quarantined = Object.values(q).reduce((a, b) => a + b, 0);
    const denominator = quarantined + (receivedOf.get(id) ?? 0);
    const byCheck = findingsOf.get(id) ?? {};
    const total = zero();
    for (const s of Object.values(byCheck)) for (const k of ['critical', 'warning', 'info'] as const) total[k] += s[k];
    const sum = (chk: string) => (byCheck[chk] ? byCheck[chk].critical + byCheck[chk].warning + byCheck[chk].info : 0);
    sensors.push({
      sensorId: id,
      location: (reg.location as string | null) ?? null,
      intervalS,
      readings: c.readings,
      samples: c.samples,
      expected,
      completeness: expected ? c.samples / expected : null,
      lastSeen,
      silentForS: intervalS === null ? null : silentForS,
      longestGap: null,
      quarantineByReason: q,
      quarantined,
      quarantineRate: denominator > 0 ? quarantined / denominator : null,
      findings: total,
      findingsByCheck: byCheck,
      examples: examplesOf.get(id) ?? [],
      outliers: sum('spike') + sum('rate_of_change'),
      hourly: hourlyOf.get(id) ?? new Array<number>(hours).fill(0),
    });
  }

  const gapBelow = opts.gapsBelow ?? Number.POSITIVE_INFINITY;
  const wanted = sensors.filter((x) => x.completeness !== null && x.completeness < gapBelow && x.samples > 1);
  if (wanted.length > 0) {
    const ids = wanted.map((x) => sqlString(x.sensorId)).join(', ');
    const gaps = await rows(
      `WITH t AS (SELECT DISTINCT sensor_id, ts FROM readings WHERE ${inWeek('ts')} AND sensor_id IN (${ids})),
       g AS (SELECT sensor_id, LAG(ts) OVER (PARTITION BY sensor_id ORDER BY ts) AS prev_ts, ts FROM t),
       r AS (SELECT sensor_id, prev_ts, ts, ROW_NUMBER() OVER (PARTITION BY sensor_id ORDER BY ts - prev_ts DESC, ts) AS rn
             FROM g WHERE prev_ts IS NOT NULL)
       SELECT sensor_id, prev_ts, ts FROM r WHERE rn = 1`,
    );
    const byId = new Map(wanted.map((x) => [x.sensorId, x]));
    for (const g of gaps) {
      const from = msOf(g.prev_ts) as number;
      const to = msOf(g.ts) as number;
      const target = byId.get(String(g.sensor_id));
      if (target) target.longestGap = { from, to, seconds: (to - from) / 1000 };
    }
  }

  const acc = { received: 0, accepted: 0, quarantined: 0, rejected: 0, duplicates: 0 };
  for (const a of accountingRows) {
    if (a.outcome === 'duplicate') acc.duplicates += a.items;
    else acc[a.outcome] += a.items;
  }
  // Duplicates are a subset of accepted; received counts every item once.
  acc.received = acc.accepted + acc.quarantined + acc.rejected;
  return { week, until: end, sensors, unattributedQuarantine: unattributed, accounting: acc };
}
