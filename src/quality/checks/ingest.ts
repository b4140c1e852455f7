/**
 * quarantine_rate and duplicate_rate, by arrival time (received_at), not reading time.
 *
 * quarantine_rate, per sensor: quarantined items / (quarantined items + readings stored) that
 * arrived in the window, from `quarantine` and `readings`. Items that name no sensor (invalid JSON,
 * a bad id, …) are one row with sensor_id NULL, rated against everything received in the window
 * (`ingest_counts`).
 *
 * duplicate_rate, per source: duplicates / accepted items from `ingest_counts` (duplicates are a
 * subset of accepted) over the hours that start inside the window. `ingest_counts` has no sensor
 * column, so duplicates can only be rated per source; `sensor_id` is NULL and the source is named in
 * `detail`. (A conflicting duplicate, same time but another value, is quarantined and so counts in
 * the sensor's quarantine_rate.)
 */
import type { Job, TimeWindow } from '../../core/jobs.js';
import type { SqlTx } from '../../core/sinks.js';
import type { QualityConfig } from '../config.js';
import type { Severity } from '../stats.js';
import { fmt, sqlTs, tsParam, type QualityRow } from '../store.js';
import { qualityJob } from './common.js';

function rated(rate: number, warn: number, critical: number): Severity | null {
  if (rate >= critical) return 'critical';
  if (rate >= warn && rate > 0) return 'warning';
  return null;
}

export async function ingestRows(tx: SqlTx, window: TimeWindow, cfg: QualityConfig): Promise<QualityRow[]> {
  const o = cfg.ingest;
  const params = [sqlTs(window.start), sqlTs(window.end)];
  const q = await tx.all<{ sensor_id: string | null; reason: string; n: number }>(
    `SELECT sensor_id, reason, count(*) AS n FROM quarantine WHERE received_at >= ${tsParam(1)} AND received_at < ${tsParam(2)}
     GROUP BY sensor_id, reason ORDER BY sensor_id, reason`,
    params,
  );
  const stored = await tx.all<{ sensor_id: string; n: number }>(
    `SELECT sensor_id, count(*) AS n FROM readings WHERE received_at >= ${tsParam(1)} AND received_at < ${tsParam(2)} GROUP BY sensor_id`,
    params,
  );
  const counts = await tx.all<{ source: string; outcome: string; n: number }>(
    `SELECT source, outcome, sum(items) AS n FROM ingest_counts WHERE hour >= ${tsParam(1)} AND hour < ${tsParam(2)}
     GROUP BY source, outcome ORDER BY source, outcome`,
    params,
  );
  const out: QualityRow[] = [];

  const bySensor = new Map<string | null, { n: number; reasons: [string, number][] }>();
  for (const r of q) {
    let e = bySensor.get(r.sensor_id);
    if (!e) bySensor.set(r.sensor_id, (e = { n: 0, reasons: [] }));
    e.n += Number(r.n);
    e.reasons.push([r.reason, Number(r.n)]);
  }
  const storedBy = new Map(stored.map((r) => [r.sensor_id, Number(r.n)]));
  const received = counts.filter((c) => c.outcome !== 'duplicate').reduce((a, c) => a + Number(c.n), 0);
  for (const [sensorId, e] of [...bySensor].sort(([a], [b]) => String(a ?? '').localeCompare(String(b ?? '')))) {
    const total = sensorId === null ? Math.max(received, e.n) : e.n + (storedBy.get(sensorId) ?? 0);
    const rate = e.n / total;
    const severity = rated(rate, o.quarantineWarn, o.quarantineCritical);
    if (!severity) continue;
    const reasons = e.reasons
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    out.push({
      check: 'quarantine_rate',
      sensorId,
      metric: null,
      severity,
      observed: rate,
      expected: o.quarantineWarn,
      detail:
        (sensorId === null ? `items naming no sensor: ${e.n} of ${total} received` : `${e.n} of ${total} items quarantined`) +
        ` (${fmt(rate * 100)} %; reasons: ${reasons})`,
    });
  }

  const bySource = new Map<string, { accepted: number; duplicate: number }>();
  for (const c of counts) {
    let e = bySource.get(c.source);
    if (!e) bySource.set(c.source, (e = { accepted: 0, duplicate: 0 }));
    if (c.outcome === 'accepted') e.accepted += Number(c.n);
    if (c.outcome === 'duplicate') e.duplicate += Number(c.n);
  }
  for (const [source, e] of bySource) {
    if (e.accepted === 0 || e.duplicate === 0) continue;
    const rate = e.duplicate / e.accepted;
    const severity = rated(rate, o.duplicateWarn, o.duplicateCritical);
    if (!severity) continue;
    out.push({
      check: 'duplicate_rate',
      sensorId: null,
      metric: null,
      severity,
      observed: rate,
      expected: o.duplicateWarn,
      detail: `source ${source}: ${e.duplicate} duplicates among ${e.accepted} accepted items (${fmt(rate * 100)} %)`,
    });
  }
  return out;
}

export function ingestJob(cfg: QualityConfig): Job {
  return qualityJob('quality.ingest', cfg.windowMs, ['quarantine_rate', 'duplicate_rate'], (tx, window) => ingestRows(tx, window, cfg));
}
