/**
 * The data catalogue's descriptions (GET /v1/catalog). Types, row counts and freshness come from the
 * engine at request time; what a dataset and a column MEAN is written here. A dataset or column
 * missing here is still listed, with a null description.
 */
export interface DatasetDoc {
  description: string;
  columns?: Record<string, string>;
}

const AGG_COLUMNS: Record<string, string> = {
  sensor_id: 'Sensor id',
  metric: 'Metric name',
  bucket: 'Start of the bucket (UTC)',
  count: 'Readings in the bucket',
  min: 'Smallest value',
  max: 'Largest value',
  avg: 'sum / count (never an average of averages)',
  sum: 'Sum of the values',
  first: 'Value at the earliest ts in the bucket',
  last: 'Value at the latest ts in the bucket',
};

export const DATASET_DOCS: Record<string, DatasetDoc> = {
  sensors: {
    description: 'Sensor registry: one row per sensor',
    columns: {
      sensor_id: 'Sensor id',
      location: 'Where the sensor is (free text)',
      type: 'Kind of sensor (free text)',
      expected_interval_s: 'Expected seconds between readings (drives completeness)',
      created_at: 'When the sensor was registered (UTC)',
    },
  },
  sensor_metrics: {
    description: 'Per sensor and metric: unit and valid range used by validation',
    columns: { sensor_id: 'Sensor id', metric: 'Metric name', unit: 'Unit', min_value: 'Smallest valid value', max_value: 'Largest valid value' },
  },
  devices: { description: 'Mirror of the device list (no secrets)', columns: { device_id: 'Device id', sensors: 'Sensors the device may write', created_at: 'Creation time (UTC)' } },
  readings: {
    description: 'Validated readings, deduplicated on (sensor_id, metric, ts), narrow format',
    columns: {
      sensor_id: 'Sensor id',
      metric: 'Metric name',
      ts: 'Measurement time (UTC)',
      value: 'Measured value',
      received_at: 'Server time the message arrived (UTC)',
      source: 'mqtt, http or replay',
      seq: 'Device sequence number, when sent',
      spool_offset: 'Spool record the reading came from (lineage)',
    },
  },
  readings_1m: { description: 'Per-minute aggregates of readings (resample job)', columns: AGG_COLUMNS },
  readings_1h: { description: 'Hourly aggregates, rolled up from readings_1m', columns: AGG_COLUMNS },
  readings_1d: { description: 'Daily aggregates, rolled up from readings_1h', columns: AGG_COLUMNS },
  quarantine: {
    description: 'Everything not stored as a reading, with a reason code; never deleted',
    columns: {
      received_at: 'Server time the message arrived (UTC)',
      source: 'Source that took the message in',
      topic: 'MQTT topic or HTTP endpoint (decides the decoder on replay)',
      device_id: 'Authenticated device, if any',
      sensor_id: 'Sensor, when it could be read',
      metric: 'Metric, when it could be read',
      ts: 'Reading time, when it could be read',
      reason: 'Reason code (docs/reasons)',
      detail: 'What was wrong, for a human',
      payload: 'The offending part of the payload (capped)',
      spool_offset: 'Spool record (lineage)',
      detected_by: 'validation or warehouse (conflicting duplicate)',
      replayed_at: 'When the row was replayed through POST /v1/quarantine/replay (null = never)',
    },
  },
  ingest_counts: { description: 'Accounting per hour, source, outcome and reason: received = accepted + quarantined + rejected' },
  sink_offsets: { description: 'High-water mark of the spool offsets each sink wrote' },
  job_runs: { description: 'One row per job run over a window' },
  dirty_windows: { description: 'Aggregate windows to recompute after late data' },
  aggregate_state: { description: 'How far each aggregate level is computed and retained' },
  quality_results: { description: 'Results of the data-quality checks' },
  v_hourly: { description: 'BI view: hourly aggregates with sensor metadata, unit and completeness' },
  v_daily: { description: 'BI view: daily aggregates with sensor metadata, unit and completeness' },
  v_sensor_health: { description: 'BI view: per sensor last seen, completeness today, open quality issues, status' },
  'lake:raw': { description: 'Parquet lake: every accepted reading as received, Hive-partitioned by date (of ts)' },
  'lake:quarantine': { description: 'Parquet lake: quarantined items, partitioned by date (of received_at) and reason' },
  'lake:aggregates': { description: 'Parquet lake: aggregate exports, partitioned by resolution and date' },
  'lake:archive/raw': { description: 'Parquet lake archive: raw partitions older than lake.archive.afterDays, same layout, stronger compression' },
  'lake:archive/quarantine': { description: 'Parquet lake archive: quarantine partitions older than lake.archive.afterDays' },
  'export:readings': { description: 'GET /v1/readings: JSON, CSV or Parquet exports of raw or aggregated readings' },
};

/** Lineage: raw lake -> readings -> readings_1m -> 1h -> 1d -> exports. */
export const LINEAGE: { from: string; to: string; via: string }[] = [
  { from: 'ingest', to: 'lake:raw', via: 'writer (every accepted message, as received)' },
  { from: 'ingest', to: 'readings', via: 'writer (validated, deduplicated)' },
  { from: 'ingest', to: 'quarantine', via: 'writer (with reason codes)' },
  { from: 'ingest', to: 'lake:quarantine', via: 'writer' },
  { from: 'lake:raw', to: 'readings', via: 'same spool records (spool_offset)' },
  { from: 'readings', to: 'readings_1m', via: 'job resample-1m' },
  { from: 'readings_1m', to: 'readings_1h', via: 'job rollup-1h' },
  { from: 'readings_1h', to: 'readings_1d', via: 'job rollup-1d' },
  { from: 'readings_1h', to: 'v_hourly', via: 'view' },
  { from: 'readings_1d', to: 'v_daily', via: 'view' },
  { from: 'readings', to: 'v_sensor_health', via: 'view' },
  { from: 'readings', to: 'export:readings', via: 'GET /v1/readings resolution=raw' },
  { from: 'readings_1m', to: 'export:readings', via: 'GET /v1/readings resolution=1m' },
  { from: 'readings_1h', to: 'export:readings', via: 'GET /v1/readings resolution=1h' },
  { from: 'readings_1d', to: 'export:readings', via: 'GET /v1/readings resolution=1d' },
  { from: 'quarantine', to: 'readings', via: 'POST /v1/quarantine/replay' },
];
