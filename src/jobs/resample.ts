/**
 * `resample`: readings -> readings_1m (count, min, max, avg, sum, first, last per sensor, metric,
 * minute), one hour window at a time, plus the late-data scan and the 1m dirty windows.
 * The machinery is in aggregate.ts.
 */
import { AggregateJob } from './aggregate-job.js';

export function resampleJob(): AggregateJob {
  return new AggregateJob('resample', '1m', 'readings -> readings_1m (per minute), hourly windows; recomputes sensors with late readings');
}
