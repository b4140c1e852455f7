// Leader election over a PostgreSQL advisory lock: one leader at a time, a follower takes over
// when the leader's session ends, and a leader whose session is cut is told at once (so it can
// stop writing before the new leader starts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { LeaderElection } from '../../src/runtime/leader-election.js';
import { silentLogger } from '../../src/core/types.js';
import { until } from '../contract/mqtt-source.contract.js';

const PG_URL = process.env.SENSORPIPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
const why = await probe.connect().then(
  () => null,
  (err: Error) => `PostgreSQL at ${PG_URL} is unreachable (${err.message})`,
);
if (why && process.env.CI === 'true') throw new Error(`CI=true and the leader-election test cannot run: ${why}`);
if (why) console.warn(`\n*** SKIPPED: leader election: ${why} ***\n`);

test('one leader at a time; the follower takes over when the leader session is terminated', { skip: why ?? false, timeout: 30_000 }, async (t) => {
  t.after(() => probe.end());
  const name = `le_${process.pid}_${Date.now()}`;
  const events: string[] = [];
  const elect = (who: string) =>
    LeaderElection.start({
      connection: { url: PG_URL },
      name,
      pollMs: 100,
      logger: silentLogger,
      onLeader: async () => void events.push(`${who} leads`),
      onLost: (reason) => void events.push(`${who} lost: ${reason.slice(0, 40)}`),
    });
  const a = await elect('a');
  const b = await elect('b');
  t.after(async () => {
    await a.stop();
    await b.stop();
  });
  assert.equal(a.isLeader, true);
  assert.equal(b.isLeader, false);
  assert.deepEqual(events, ['a leads']);

  // Cut the leader's session from the server side, as a network failure or a killed process would.
  const r = await probe.query<{ pid: number }>(`select pid from pg_stat_activity where application_name = $1`, [`sensorpipe-leader:${name}`]);
  assert.equal(r.rows.length, 2, 'both collectors hold a session');
  const lockHolder = await probe.query<{ pid: number }>(
    `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted and a.application_name = $1`,
    [`sensorpipe-leader:${name}`],
  );
  assert.equal(lockHolder.rows.length, 1, 'exactly one advisory lock is granted');
  await probe.query('select pg_terminate_backend($1)', [lockHolder.rows[0].pid]);

  await until('b to take over', () => b.isLeader, 10_000);
  await until('a to learn it lost', () => events.some((e) => e.startsWith('a lost')), 10_000);
  assert.equal(a.isLeader, false);
  assert.deepEqual(events.filter((e) => e.endsWith('leads')), ['a leads', 'b leads']);
});
