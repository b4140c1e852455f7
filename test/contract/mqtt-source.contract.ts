// The contract every MQTT source keeps (embedded Aedes broker, subscriber on an external broker):
// what devices publish with QoS 1 ends up, once acknowledged, as readings exactly once or as
// quarantine rows with the expected reason, and the accounting balances for the source's label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate, type LedgerLine } from '../../src/sim/simulate.js';
import type { Sensorpipe } from '../../src/runtime/sensorpipe.js';
import { rows, tempDir } from '../helpers/server.js';

export interface MqttSourceUnderTest {
  sp: Sensorpipe;
  /** Where devices publish. */
  publishUrl: string;
  /** The `source` label the pipeline gives these messages. */
  source: string;
  /**
   * Whether a device's messages reach the pipeline in the order it sent them. A shared
   * subscription over several connections does not keep it, so of an original and its
   * conflicting duplicate either may arrive first and stay (the other is quarantined).
   */
  ordered: boolean;
  stop(): Promise<void>;
}

export interface MqttSourceImpl {
  name: string;
  /** Starts Sensorpipe with this source (anonymous publishing allowed) on a fresh data dir. */
  start(dir: string): Promise<MqttSourceUnderTest>;
}

/** Waits until `cond` holds, checking every 20 ms; fails with `what` after `ms`. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Messages the spool has taken in (records appended), for sources whose acks come from elsewhere. */
async function spooled(sp: Sensorpipe): Promise<number> {
  return sp.counters.messages;
}

export function mqttSourceContract(impl: MqttSourceImpl, opts: { skip?: string | false } = {}): void {
  test(`${impl.name}: every acknowledged message is a reading exactly once or quarantined with its reason`, { timeout: 120_000, skip: opts.skip }, async (t) => {
    const tmp = tempDir('sensorpipe-mqtt-contract-');
    t.after(tmp.cleanup);
    const u = await impl.start(tmp.dir);
    t.after(() => u.stop());
    const ledger = join(tmp.dir, 'ledger.jsonl');
    const report = await simulate({ url: u.publishUrl, sensors: 6, count: 900, badRatio: 0.1, demo: true, seed: 'mqtt-contract', ledger, maxInflight: 64 });
    assert.equal(report.failed, 0, `no message failed (${report.stopReason})`);
    const lines = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LedgerLine);
    assert.equal(lines.length, 900);

    // An embedded broker acknowledged after the spool write; an external one acknowledged on its
    // own, so wait until our subscriber has stored every message, then let the writer finish.
    await until(`${lines.length} messages in the spool`, async () => (await spooled(u.sp)) >= lines.length);
    await u.sp.writer.drain();

    const accepted = lines.filter((l) => l.expected === 'accepted');
    const expectedReadings = accepted.reduce((n, l) => n + Object.keys(l.readings ?? {}).length, 0);
    const [r] = await rows<{ n: number; distinct_keys: number }>(
      u.sp,
      `select count(*)::int n, count(distinct (sensor_id, metric, ts))::int distinct_keys from readings where source = '${u.source}'`,
    );
    assert.equal(r.n, expectedReadings, 'every reading of every valid message, once');
    assert.equal(r.distinct_keys, expectedReadings, 'no duplicate rows');
    // Values intact: spot-check every valid message's first metric.
    const stored = await rows<{ sensor_id: string; metric: string; ts: string; value: number }>(
      u.sp,
      `select sensor_id, metric, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') ts, value from readings`,
    );
    const byKey = new Map(stored.map((s) => [`${s.sensor_id}|${s.metric}|${s.ts}`, s.value]));
    const contested = new Set(lines.filter((l) => l.expected === 'conflicting_duplicate').map((l) => `${l.sensor}|${l.ts}`));
    for (const l of accepted) {
      if (!u.ordered && contested.has(`${l.sensor}|${l.ts}`)) continue;
      const [metric, value] = Object.entries(l.readings ?? {})[0];
      const ts = new Date(l.ts!).toISOString().slice(0, 23);
      assert.equal(byKey.get(`${l.sensor}|${metric}|${ts}`), value, `${l.sensor} seq ${l.seq} ${metric}`);
    }

    const want = new Map<string, number>();
    for (const l of lines.filter((x) => x.expected !== 'accepted')) want.set(l.expected, (want.get(l.expected) ?? 0) + 1);
    assert.ok(want.size >= 3, `the run includes several kinds of bad message (${[...want.keys()]})`);
    const q = await rows<{ reason: string; n: number }>(u.sp, `select reason, count(*)::int n from quarantine where source = '${u.source}' group by all`);
    const got = new Map(q.map((x) => [x.reason, x.n]));
    assert.deepEqual(new Set(got.keys()), new Set(want.keys()), 'exactly the expected reasons');
    for (const [reason, n] of want) assert.ok((got.get(reason) ?? 0) >= n, `${reason}: at least one quarantine row per message (${got.get(reason)} >= ${n})`);

    const acc = await u.sp.warehouse.accounting();
    const mine = acc.filter((a) => a.source === u.source);
    const sum = (o: string) => mine.filter((a) => a.outcome === o).reduce((n, a) => n + a.items, 0);
    assert.equal(sum('accepted'), expectedReadings, 'accounting: accepted readings');
    assert.equal(sum('quarantined'), [...got.values()].reduce((a, b) => a + b, 0), 'accounting: quarantined items');
  });
}
