// The quality job tests (quality-jobs.test.ts, quality-jobs-2.test.ts) again, unchanged, against
// PostgreSQL: tempWarehouse() (test/helpers/quality-load.ts) opens a fresh PostgreSQL schema when
// SENSORPIPE_TEST_WAREHOUSE=postgres. Every test file runs in a process of its own, so the
// variable affects only this file.
import { requirePostgres } from '../helpers/postgres.js';

if (requirePostgres('quality jobs on PostgreSQL')) {
  process.env.SENSORPIPE_TEST_WAREHOUSE = 'postgres';
  await import('./quality-jobs.test.js');
  await import('./quality-jobs-2.test.js');
}
