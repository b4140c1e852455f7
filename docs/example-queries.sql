-- Example queries for analysts (DuckDB and PostgreSQL alike: plain SQL, no engine-specific functions).
-- Run one with `sensorpipe query "<sql>"`, POST it to /v1/sql, or paste it into your BI tool.
-- Times are UTC. Tables, views and columns: docs/jobs.md and docs/architecture.md.
-- Each query is preceded by a `-- name: ...` line; test/jobs/views-retention.test.ts runs every one of
-- them against a populated warehouse, on DuckDB and on PostgreSQL, and requires rows back.
-- Queries over "the last N hours" are written relative to the newest data, so they also work on
-- historical data; for live dashboards use `now() AT TIME ZONE 'UTC'` instead.

-- name: latest reading per sensor and metric, with its unit
SELECT r.sensor_id, r.metric, r.ts, r.value, m.unit
FROM readings r
JOIN (SELECT sensor_id, metric, max(ts) AS ts FROM readings GROUP BY sensor_id, metric) newest
  ON newest.sensor_id = r.sensor_id AND newest.metric = r.metric AND newest.ts = r.ts
LEFT JOIN sensor_metrics m ON m.sensor_id = r.sensor_id AND m.metric = r.metric
ORDER BY r.sensor_id, r.metric;

-- name: sensor health: last seen, completeness today, open quality issues
SELECT sensor_id, location, status, last_seen, seconds_since_last_seen, samples_today,
       expected_samples_today, completeness_today, open_quality_issues
FROM v_sensor_health
ORDER BY status, sensor_id;

-- name: sensors and their metrics, units and plausible ranges, by location
SELECT s.location, s.sensor_id, s.type, s.expected_interval_s, m.metric, m.unit, m.min_value, m.max_value
FROM sensors s
LEFT JOIN sensor_metrics m ON m.sensor_id = s.sensor_id
ORDER BY s.location, s.sensor_id, m.metric;

-- name: hourly temperature over the last 48 hours of data
SELECT sensor_id, location, hour, avg, min, max, count, unit
FROM v_hourly
WHERE metric = 'temperature'
  AND hour > (SELECT max(hour) FROM v_hourly WHERE metric = 'temperature') - INTERVAL '48 hours'
ORDER BY sensor_id, hour;

-- name: daily summary per sensor and metric, with completeness against the declared interval
SELECT day, sensor_id, location, metric, unit, min, avg, max, count, completeness
FROM v_daily
ORDER BY day DESC, sensor_id, metric;

-- name: largest daily swing (max - min) per sensor and metric
SELECT sensor_id, metric, day, max - min AS swing, min, max, unit
FROM v_daily
ORDER BY swing DESC, sensor_id, metric, day
LIMIT 10;

-- name: day-over-day change of the daily mean
SELECT sensor_id, metric, day, avg,
       avg - LAG(avg) OVER (PARTITION BY sensor_id, metric ORDER BY day) AS change_from_previous_day
FROM v_daily
ORDER BY sensor_id, metric, day;

-- name: daily cycle: mean by hour of day (weighted by count, never an average of averages)
SELECT metric, EXTRACT(HOUR FROM bucket) AS hour_of_day, sum(sum) / sum(count) AS mean, sum(count) AS readings
FROM readings_1h
GROUP BY metric, EXTRACT(HOUR FROM bucket)
ORDER BY metric, hour_of_day;

-- name: gaps longer than 5 minutes in the 1-minute data
SELECT sensor_id, metric, previous_bucket AS last_before_gap, bucket AS first_after_gap,
       EXTRACT(EPOCH FROM (bucket - previous_bucket)) / 60 - 1 AS missing_minutes
FROM (
  SELECT sensor_id, metric, bucket, LAG(bucket) OVER (PARTITION BY sensor_id, metric ORDER BY bucket) AS previous_bucket
  FROM readings_1m
) g
WHERE bucket - previous_bucket > INTERVAL '5 minutes'
ORDER BY missing_minutes DESC, sensor_id, metric
LIMIT 20;

-- name: late readings per sensor (arrived more than an hour after their timestamp)
SELECT sensor_id, count(*) AS late_readings,
       max(EXTRACT(EPOCH FROM (received_at - ts))) / 3600 AS max_delay_hours
FROM readings
WHERE received_at > ts + INTERVAL '1 hour'
GROUP BY sensor_id
ORDER BY late_readings DESC, sensor_id;

-- name: quarantined items by reason
SELECT reason, count(*) AS items, count(DISTINCT sensor_id) AS sensors, min(received_at) AS first_seen, max(received_at) AS last_seen
FROM quarantine
GROUP BY reason
ORDER BY items DESC, reason;

-- name: ingest accounting per day and source: received = accepted + quarantined + rejected
SELECT CAST(hour AS DATE) AS day, source,
       sum(CASE WHEN outcome <> 'duplicate' THEN items ELSE 0 END) AS received,
       sum(CASE WHEN outcome = 'accepted' THEN items ELSE 0 END) AS accepted,
       sum(CASE WHEN outcome = 'quarantined' THEN items ELSE 0 END) AS quarantined,
       sum(CASE WHEN outcome = 'rejected' THEN items ELSE 0 END) AS rejected,
       sum(CASE WHEN outcome = 'duplicate' THEN items ELSE 0 END) AS duplicates_among_accepted
FROM ingest_counts
GROUP BY CAST(hour AS DATE), source
ORDER BY day DESC, source;

-- name: quality findings, newest first
SELECT q."check", q.sensor_id, q.metric, q.severity, q.window_start, q.window_end, q.observed, q.expected, q.detail
FROM quality_results q
WHERE q.severity <> 'info'
ORDER BY q.window_end DESC, q.severity, q.sensor_id
LIMIT 50;

-- name: job runs by job and status: how many, rows, slowest, last finished
SELECT job, status, count(*) AS runs, sum(rows) AS rows, max(duration_ms) AS slowest_ms, max(finished_at) AS last_finished
FROM job_runs
GROUP BY job, status
ORDER BY job, status;
