/**
 * The BI views (`v_hourly`, `v_daily`, `v_sensor_health`), one definition for both warehouses:
 * the SQL is portable (DuckDB and PostgreSQL accept it unchanged), and each engine replaces the
 * views at every open so definitions follow upgrades. "Today" is the UTC day; `now() AT TIME
 * ZONE 'UTC'` is the UTC wall clock on both engines.
 */
export const BI_VIEWS: readonly string[] = [
  `CREATE OR REPLACE VIEW v_hourly AS
  SELECT h.sensor_id, s.location, s.type AS sensor_type, h.metric, m.unit, h.bucket AS hour,
    h.count, h.min, h.max, h.avg, h.sum, h.first, h.last,
    CASE WHEN s.expected_interval_s > 0 THEN h.count / (3600.0 / s.expected_interval_s) END AS completeness
  FROM readings_1h h
  LEFT JOIN sensors s ON s.sensor_id = h.sensor_id
  LEFT JOIN sensor_metrics m ON m.sensor_id = h.sensor_id AND m.metric = h.metric`,
  `CREATE OR REPLACE VIEW v_daily AS
  SELECT d.sensor_id, s.location, s.type AS sensor_type, d.metric, m.unit, CAST(d.bucket AS DATE) AS day,
    d.count, d.min, d.max, d.avg, d.sum, d.first, d.last,
    CASE WHEN s.expected_interval_s > 0 THEN d.count / (86400.0 / s.expected_interval_s) END AS completeness
  FROM readings_1d d
  LEFT JOIN sensors s ON s.sensor_id = d.sensor_id
  LEFT JOIN sensor_metrics m ON m.sensor_id = d.sensor_id AND m.metric = d.metric`,
  `CREATE OR REPLACE VIEW v_sensor_health AS
  WITH clock AS (
    SELECT now() AT TIME ZONE 'UTC' AS now_utc, date_trunc('day', now() AT TIME ZONE 'UTC') AS today
  ),
  seen AS (
    SELECT sensor_id, max(ts) AS last_seen, max(received_at) AS last_received_at FROM readings GROUP BY sensor_id
  ),
  today_counts AS (
    SELECT r.sensor_id, count(*) AS readings_today, count(DISTINCT r.ts) AS samples_today
    FROM readings r CROSS JOIN clock c
    WHERE r.ts >= c.today AND r.ts < c.today + INTERVAL '1 day'
    GROUP BY r.sensor_id
  ),
  issues AS (
    SELECT q.sensor_id, count(*) AS open_quality_issues, max(q.window_end) AS last_quality_issue_at
    FROM quality_results q CROSS JOIN clock c
    WHERE q.severity NOT IN ('ok', 'info') AND q.window_end > c.now_utc - INTERVAL '1 day'
    GROUP BY q.sensor_id
  ),
  expected AS (
    SELECT s.sensor_id,
      CASE WHEN s.expected_interval_s > 0
        THEN floor(EXTRACT(EPOCH FROM (c.now_utc - c.today)) / s.expected_interval_s) END AS expected_samples_today
    FROM sensors s CROSS JOIN clock c
  )
  SELECT s.sensor_id, s.location, s.type AS sensor_type, s.expected_interval_s,
    seen.last_seen, seen.last_received_at,
    EXTRACT(EPOCH FROM (c.now_utc - seen.last_seen)) AS seconds_since_last_seen,
    COALESCE(t.readings_today, 0) AS readings_today,
    COALESCE(t.samples_today, 0) AS samples_today,
    e.expected_samples_today,
    CASE WHEN e.expected_samples_today > 0
      THEN least(1.0, COALESCE(t.samples_today, 0) / e.expected_samples_today) END AS completeness_today,
    COALESCE(i.open_quality_issues, 0) AS open_quality_issues,
    i.last_quality_issue_at,
    CASE
      WHEN seen.last_seen IS NULL THEN 'never_seen'
      WHEN s.expected_interval_s > 0 AND EXTRACT(EPOCH FROM (c.now_utc - seen.last_seen)) > 10 * s.expected_interval_s THEN 'silent'
      WHEN COALESCE(i.open_quality_issues, 0) > 0 THEN 'issues'
      ELSE 'ok'
    END AS status
  FROM sensors s
  CROSS JOIN clock c
  LEFT JOIN seen ON seen.sensor_id = s.sensor_id
  LEFT JOIN today_counts t ON t.sensor_id = s.sensor_id
  LEFT JOIN issues i ON i.sensor_id = s.sensor_id
  LEFT JOIN expected e ON e.sensor_id = s.sensor_id`,
];
