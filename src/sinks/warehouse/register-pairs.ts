import type { MetricSpec } from '../../core/registry.js';

/**
 * The INSERTs that auto-register new (sensor, metric) pairs with the configured metric defaults,
 * 500 pairs per statement: a statement per pair made a new fleet's first batch take ~30 s for
 * 1,000 sensors on DuckDB (docs/performance.md). Both engines take the same SQL; DuckDB needs the
 * DOUBLE casts for NULL limits, PostgreSQL infers them from the column.
 */
export function registerPairsStatements(
  pairs: { sensorId: string; metric: string }[],
  metricDefaults: Record<string, MetricSpec>,
  doubleCast: string,
): { sql: string; params: (string | number | null)[] }[] {
  const out: { sql: string; params: (string | number | null)[] }[] = [];
  for (let i = 0; i < pairs.length; i += 500) {
    const params: (string | number | null)[] = [];
    const tuples = pairs.slice(i, i + 500).map((p, j) => {
      const d = Object.prototype.hasOwnProperty.call(metricDefaults, p.metric) ? metricDefaults[p.metric] : undefined;
      params.push(p.sensorId, p.metric, d?.unit ?? null, d?.min ?? null, d?.max ?? null);
      const b = j * 5;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}${doubleCast}, $${b + 5}${doubleCast})`;
    });
    out.push({
      sql: `INSERT INTO sensor_metrics (sensor_id, metric, unit, min_value, max_value) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`,
      params,
    });
  }
  return out;
}
