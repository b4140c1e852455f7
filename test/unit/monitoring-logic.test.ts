// Pure parts of monitoring: the accounting report's balance checks and the bounded sensor labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountingReport } from '../../src/pipeline/accounting-report.js';
import { OTHER_SENSORS, SensorLastSeen } from '../../src/observability/sensor-last-seen.js';
import type { AccountingRow } from '../../src/core/sinks.js';

test('accounting report: totals, per source and per reason, balanced for catalogued rows', () => {
  const rows: AccountingRow[] = [
    { source: 'mqtt', outcome: 'accepted', reason: '', items: 10 },
    { source: 'mqtt', outcome: 'duplicate', reason: '', items: 2 },
    { source: 'mqtt', outcome: 'quarantined', reason: 'out_of_range', items: 3 },
    { source: 'mqtt', outcome: 'rejected', reason: 'auth_failed', items: 1 },
    { source: 'http', outcome: 'accepted', reason: '', items: 4 },
    { source: 'http', outcome: 'rejected', reason: 'bad_request', items: 2 },
  ];
  const r = accountingReport(rows);
  assert.equal(r.balanced, true, r.problems.join('; '));
  assert.deepEqual(r.totals, { received: 20, accepted: 14, quarantined: 3, rejected: 3, duplicates: 2 });
  assert.deepEqual(r.bySource.map((s) => [s.source, s.received]), [['http', 6], ['mqtt', 14]]);
  assert.deepEqual(r.byReason.map((b) => b.reason), ['out_of_range', 'auth_failed', 'bad_request']);
  assert.deepEqual(accountingReport([]), { totals: { received: 0, accepted: 0, quarantined: 0, rejected: 0, duplicates: 0 }, balanced: true, bySource: [], byReason: [], problems: [] });
});

test('accounting report: not balanced when a reason sits under the wrong outcome, an outcome is unknown, or duplicates exceed accepted', () => {
  const wrongOutcome = accountingReport([{ source: 'mqtt', outcome: 'rejected', reason: 'out_of_range', items: 1 }]);
  assert.equal(wrongOutcome.balanced, false);
  assert.match(wrongOutcome.problems[0], /"out_of_range", which is not a reject reason code/);
  const unknown = accountingReport([{ source: 'mqtt', outcome: 'lost' as AccountingRow['outcome'], reason: '', items: 5 }]);
  assert.equal(unknown.balanced, false);
  assert.match(unknown.problems[0], /5 items with unknown outcome "lost"/);
  const dups = accountingReport([
    { source: 'mqtt', outcome: 'accepted', reason: '', items: 1 },
    { source: 'mqtt', outcome: 'duplicate', reason: '', items: 3 },
  ]);
  assert.equal(dups.balanced, false);
  assert.match(dups.problems[0], /3 duplicates but only 1 accepted/);
});

test('sensor labels: the first N sensors keep their label; the rest share _other with the oldest last-seen', () => {
  const s = new SensorLastSeen(2);
  s.saw('a', 100);
  s.saw('b', 200);
  s.saw('c', 300);
  s.saw('d', 50);
  s.saw('a', 400);
  s.saw('d', 500); // d is seen again: c (300) is now the most silent of the rest
  assert.deepEqual(s.samples(), [
    { sensorId: 'a', lastSeenMs: 400 },
    { sensorId: 'b', lastSeenMs: 200 },
    { sensorId: OTHER_SENSORS, lastSeenMs: 300 },
  ]);
  assert.deepEqual([s.labelled, s.aggregated], [2, 2]);
  s.saw('b', 100); // an older arrival never moves last-seen back
  assert.equal(s.samples()[1].lastSeenMs, 200);
  const none = new SensorLastSeen(0);
  none.saw('x', 1);
  assert.deepEqual(none.samples(), [{ sensorId: OTHER_SENSORS, lastSeenMs: 1 }], 'maxSensorLabels 0 publishes no sensor id');
});
