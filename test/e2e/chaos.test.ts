// The short CI version of `npm run chaos` (test/helpers/chaos.ts): 4 kill -9 iterations with 5 %
// bad messages, then the ledger check: every acknowledged valid reading stored exactly once with
// its value, every acknowledged bad message quarantined with its reason, accounting balanced by
// reason, lake = warehouse, every Parquet file opens, a fresh message gets through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from '../helpers/chaos.js';
import { tempDir } from '../helpers/server.js';

test('chaos (short): 4 kill -9 iterations, then every acknowledged message is accounted for', { timeout: 240_000 }, async (t) => {
  const tmp = tempDir('sensorpipe-chaos-');
  t.after(tmp.cleanup);
  const r = await runChaos({ dir: tmp.dir, iterations: 4, count: 1500, seed: 'ci', log: (l) => t.diagnostic(l) });
  const c = r.check;
  t.diagnostic(JSON.stringify(c));
  assert.ok(r.iterations.every((i) => i.signal === 'SIGKILL'), JSON.stringify(r.iterations));
  assert.ok(c.acked > 1000, `enough acknowledged messages to mean something (${c.acked})`);
  assert.equal(c.missingReadings, 0, 'every acknowledged valid reading stored exactly once with its value');
  assert.equal(c.missingQuarantine, 0, 'every acknowledged bad message quarantined with its reason');
  assert.deepEqual(c.accountingProblems, []);
  assert.equal(c.lakeDistinct, c.readingsRows, 'the raw lake holds every stored reading, none lost or doubled by replays');
  assert.equal(c.lakeRows, c.readingsRows + c.conflictingDuplicates, 'beyond them only the conflicting duplicates, kept as received');
  assert.ok(c.parquetFiles > 0);
  assert.ok(c.freshStored, 'a fresh message got through after the faults');
});
