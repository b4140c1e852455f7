/**
 * `rollup_1h` (readings_1m -> readings_1h, hourly windows) and `rollup_1d` (readings_1h ->
 * readings_1d, daily windows): built from the finer level without averaging averages, and only
 * over windows the finer level has completed. The machinery is in aggregate.ts.
 */
import { AggregateJob } from './aggregate-job.js';

export function rollup1hJob(): AggregateJob {
  return new AggregateJob('rollup_1h', '1h', 'readings_1m -> readings_1h, hourly windows, after resample has covered them');
}

export function rollup1dJob(): AggregateJob {
  return new AggregateJob('rollup_1d', '1d', 'readings_1h -> readings_1d, daily windows (UTC), after rollup_1h has covered them');
}
