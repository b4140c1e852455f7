import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/sim/prng.js';
import { Fleet, validMessage, type SimMessage } from '../../src/sim/fleet.js';
import { BAD_KINDS, badMessage, planBadKinds, type BadKind } from '../../src/sim/bad-messages.js';
import { validateMessage, type ValidateContext } from '../../src/pipeline/validate.js';
import { MemoryRegistry } from '../../src/core/registry.js';
import { configSchema } from '../../src/config/schema.js';
import { sensorFromTopic } from '../../src/core/ids.js';
import type { Validated } from '../../src/core/types.js';

const NOW = Date.parse('2026-11-28T12:00:00.000Z');

function readingsOf(fleet: Fleet, steps: number) {
  const out = [];
  for (let i = 0; i < steps; i++) out.push(fleet.next(i % fleet.size));
  return out;
}

describe('prng', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    const a = createRng('x');
    const b = createRng('x');
    const c = createRng('y');
    const va = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(va, Array.from({ length: 1000 }, () => b.next()));
    assert.notDeepEqual(va, Array.from({ length: 1000 }, () => c.next()));
    assert.ok(va.every((v) => v >= 0 && v < 1));
    assert.deepEqual(Array.from({ length: 10 }, createRng(7).next), Array.from({ length: 10 }, createRng('7').next));
    const r = createRng(1);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(3, 5);
      assert.ok(n >= 3 && n <= 5 && Number.isInteger(n));
    }
  });
});

describe('fleet', () => {
  it('gives the same readings for the same seed, other readings for another seed', () => {
    const opts = { sensors: 3, seed: 42, startTs: NOW };
    assert.deepEqual(readingsOf(new Fleet(opts), 1000), readingsOf(new Fleet(opts), 1000));
    assert.notDeepEqual(readingsOf(new Fleet(opts), 1000), readingsOf(new Fleet({ ...opts, seed: 43 }), 1000));
  });

  it("keeps a sensor's readings independent of how sensors interleave", () => {
    const a = new Fleet({ sensors: 2, seed: 1, startTs: NOW });
    const b = new Fleet({ sensors: 2, seed: 1, startTs: NOW });
    const fromA = [a.next(0), a.next(0), a.next(1), a.next(0)].filter((r) => r.sensorId === 'sim-0001');
    const fromB = [b.next(1), b.next(1), b.next(0), b.next(0), b.next(0)].filter((r) => r.sensorId === 'sim-0001');
    assert.deepEqual(fromA, fromB);
  });

  it('stays within range with 2 decimals over 100k steps, seq from 1, ts one step apart', () => {
    const fleet = new Fleet({ sensors: 4, seed: 'range', startTs: NOW, stepMs: 500 });
    const last = new Map<string, { seq: number; ts: number }>();
    let minT = Infinity;
    let maxT = -Infinity;
    for (let i = 0; i < 100_000; i++) {
      const r = fleet.next(i % 4);
      const { temperature: t, humidity: h } = r.readings;
      assert.ok(t >= -10 && t <= 45, `temperature ${t}`);
      assert.ok(h >= 0 && h <= 100, `humidity ${h}`);
      assert.equal(Math.round(t * 100) / 100, t);
      assert.equal(Math.round(h * 100) / 100, h);
      minT = Math.min(minT, t);
      maxT = Math.max(maxT, t);
      const prev = last.get(r.sensorId) ?? { seq: 0, ts: NOW - 500 };
      assert.equal(r.seq, prev.seq + 1);
      assert.equal(r.ts, prev.ts + 500);
      last.set(r.sensorId, r);
    }
    assert.deepEqual([...last.keys()], ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004']);
    assert.ok(maxT - minT > 1, 'the walk moves');
    const first = new Fleet({ sensors: 50, seed: 's', startTs: NOW });
    for (let s = 0; s < 50; s++) {
      const r = first.next(s).readings;
      assert.ok(r.temperature >= 17.5 && r.temperature <= 24.5, `start temperature ${r.temperature}`);
      assert.ok(r.humidity >= 29 && r.humidity <= 71, `start humidity ${r.humidity}`);
    }
  });

  it('writes the Sensorpipe JSON payload of a valid message', () => {
    const m = validMessage({ sensorId: 'sim-0001', seq: 17, ts: NOW, readings: { temperature: 21.43, humidity: 48.2 } });
    assert.equal(m.payload.toString(), '{"ts":"2026-11-28T12:00:00.000Z","seq":17,"readings":{"temperature":21.43,"humidity":48.2}}');
    assert.equal(m.topic, 'sensors/sim-0001/telemetry');
    assert.equal(m.expected, 'accepted');
  });
});

describe('planBadKinds', () => {
  it('spreads the kinds evenly and deterministically, conflicts only after a valid message of the sensor', () => {
    const plan = planBadKinds({ count: 1000, sensors: 7, badRatio: 0.2, seed: 9 });
    assert.deepEqual(plan, planBadKinds({ count: 1000, sensors: 7, badRatio: 0.2, seed: 9 }));
    assert.equal(plan.filter((k) => k !== null).length, 200);
    for (const kind of BAD_KINDS) assert.equal(plan.filter((k) => k === kind).length, 20, kind);
    const hasValid = new Set<number>();
    plan.forEach((k, i) => {
      if (k === null) hasValid.add(i % 7);
      if (k === 'conflicting_duplicate') assert.ok(hasValid.has(i % 7), `conflict at ${i}`);
    });
    // The bad messages are spread over the run, not bunched.
    assert.ok(plan.slice(0, 500).filter((k) => k !== null).length === 100);
  });

  it('never plans a conflict that cannot have an original', () => {
    const all = planBadKinds({ count: 50, sensors: 5, badRatio: 1, seed: 1 });
    assert.ok(all.every((k) => k !== null && k !== 'conflicting_duplicate'));
    assert.ok(planBadKinds({ count: 50, sensors: 5, badRatio: 0, seed: 1 }).every((k) => k === null));
    assert.throws(() => planBadKinds({ count: 5, sensors: 1, badRatio: 1.5, seed: 1 }), /badRatio/);
  });
});

describe('bad messages through validateMessage', () => {
  const defaults = configSchema.parse({});
  const ctx = (): ValidateContext => ({
    registry: new MemoryRegistry('auto'),
    config: defaults.validation,
    metricDefaults: defaults.registry.metricDefaults,
    clock: { now: () => NOW },
  });
  const validate = (m: SimMessage, c = ctx()): Validated =>
    validateMessage(
      { source: 'mqtt', topic: m.topic, deviceId: m.sensorId, receivedAt: NOW, payload: m.payload },
      { topicSensorId: sensorFromTopic(m.topic) },
      c,
    );

  it('accepts every reading of valid messages', () => {
    const fleet = new Fleet({ sensors: 3, seed: 5, startTs: NOW - 3_600_000 });
    for (let i = 0; i < 300; i++) {
      const m = validMessage(fleet.next(i % 3));
      const v = validate(m);
      assert.deepEqual(v.quarantined, []);
      assert.deepEqual(
        v.readings.map((r) => [r.sensorId, r.metric, r.ts, r.value, r.seq]),
        Object.entries(m.readings!).map(([k, val]) => [m.sensorId, k, Date.parse(m.ts!), val, m.seq]),
      );
    }
  });

  for (const kind of BAD_KINDS) {
    it(`${kind}: every item is quarantined with reason ${kind}`, () => {
      const fleet = new Fleet({ sensors: 2, seed: kind, startTs: NOW - 3_600_000 });
      const rng = createRng(kind);
      for (let i = 0; i < 40; i++) {
        const original = fleet.next(0);
        const slot = fleet.next(0);
        const m = badMessage(kind as BadKind, slot, { rng, now: NOW, otherSensorId: 'sim-0002', original });
        assert.equal(m.expected, kind);
        assert.equal(m.seq, slot.seq);
        const v = validate(m);
        if (kind === 'conflicting_duplicate') {
          // Valid on its own; the warehouse quarantines it against the acknowledged original.
          assert.deepEqual(v.quarantined, []);
          assert.equal(v.readings.length, 2);
          for (const r of v.readings) {
            assert.equal(r.ts, original.ts);
            assert.notEqual(r.value, original.readings[r.metric as 'temperature' | 'humidity']);
          }
          continue;
        }
        assert.deepEqual(v.readings, [], `${kind} #${i}: nothing accepted from ${m.payload.toString().slice(0, 200)}`);
        assert.ok(v.quarantined.length >= 1);
        for (const q of v.quarantined) assert.equal(q.reason, kind, `${kind} #${i}: ${q.detail}`);
      }
    });
  }

  it('payload_too_large is one byte over the given limit', () => {
    const fleet = new Fleet({ sensors: 1, seed: 1, startTs: NOW });
    const m = badMessage('payload_too_large', fleet.next(0), { rng: createRng(1), now: NOW, otherSensorId: 'x', maxPayloadBytes: 1000 });
    assert.equal(m.payload.length, 1001);
    const v = validate(m, { ...ctx(), config: { ...defaults.validation, maxPayloadBytes: 1000 } });
    assert.deepEqual(v.quarantined.map((q) => q.reason), ['payload_too_large']);
  });
});
