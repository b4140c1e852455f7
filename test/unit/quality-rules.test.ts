import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { qualityConfigSchema } from '../../src/quality/config.js';
import { parseRule, ruleHolds, type Rule } from '../../src/quality/rules.js';
import { checkRule } from '../../src/quality/checks/rules.js';
import { configSchema } from '../../src/config/schema.js';

function rule(text: string): Rule {
  const r = parseRule(text);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.error}`);
  return r.rule;
}

describe('rule grammar', () => {
  test('metric op metric, metric op number, number op metric; whitespace optional; text normalized', () => {
    assert.deepEqual(rule('dew_point <= temperature'), {
      left: { kind: 'metric', name: 'dew_point' },
      op: '<=',
      right: { kind: 'metric', name: 'temperature' },
      text: 'dew_point <= temperature',
      metrics: ['dew_point', 'temperature'],
    });
    assert.equal(rule('  humidity<=100 ').text, 'humidity <= 100');
    assert.deepEqual(rule('humidity >= -0.5').right, { kind: 'number', value: -0.5 });
    assert.deepEqual(rule('0 < co2').left, { kind: 'number', value: 0 });
    assert.equal(rule('a.b:c-d > 1e3').right.kind, 'number');
    assert.equal(rule('pm2.5 < pm10').text, 'pm2.5 < pm10');
    for (const op of ['<=', '<', '>=', '>']) assert.equal(rule(`a ${op} b`).op, op);
  });

  test('refuses garbage with a message that says what is expected', () => {
    const bad: [unknown, RegExp][] = [
      ['', /expected "metric op metric"/],
      ['temperature', /expected/],
      ['a == b', /expected/],
      ['a != b', /expected/],
      ['a = b', /expected/],
      ['a =< b', /expected/],
      ['a=<b', /only one comparison/],
      ['a < b < c', /expected/],
      ['a<b<c', /only one comparison/],
      ['a <= <b', /only one comparison/],
      ['a <= b; DROP TABLE readings', /expected/],
      ['process.exit() < 1', /neither a metric name nor a finite number/],
      ['a + b < c', /expected/],
      ['(a) < b', /neither a metric name/],
      ['a < b OR 1', /expected/],
      ["a < 'b'", /neither a metric name/],
      ['a < 1e999', /neither a metric name nor a finite number/],
      ['a < NaN', /.*/], // NaN is a valid id: a metric named NaN (harmless); checked below
      ['1 < 2', /compares two numbers/],
      ['a < a', /with itself/],
      ['_a < b', /neither a metric name/],
      [42, /must be a string/],
      [null, /must be a string/],
      ['x'.repeat(400) + ' < 1', /at most 300 characters/],
    ];
    for (const [input, msg] of bad) {
      const r = parseRule(input);
      if (input === 'a < NaN') {
        assert.ok(r.ok && r.rule.right.kind === 'metric', 'NaN reads as a metric name, never as a number');
        continue;
      }
      assert.equal(r.ok, false, `accepted ${String(input)}`);
      assert.match((r as { error: string }).error, msg, String(input));
    }
  });

  test('ruleHolds with tolerance; null when a metric is missing or not finite', () => {
    const r = rule('dew_point <= temperature');
    assert.equal(ruleHolds(r, { dew_point: 10, temperature: 12 }), true);
    assert.equal(ruleHolds(r, { dew_point: 12, temperature: 12 }), true);
    assert.equal(ruleHolds(r, { dew_point: 12.1, temperature: 12 }), false);
    assert.equal(ruleHolds(r, { dew_point: 12.1, temperature: 12 }, 0.2), true);
    assert.equal(ruleHolds(r, { dew_point: 12 }), null);
    assert.equal(ruleHolds(r, { dew_point: NaN, temperature: 1 }), null);
    assert.equal(ruleHolds(rule('a < b'), { a: 1, b: 1 }), false);
    assert.equal(ruleHolds(rule('a > 0'), { a: 0 }), false);
    assert.equal(ruleHolds(rule('a > 0'), { a: 0 }, 0.5), true);
    assert.equal(ruleHolds(rule('a >= b'), { a: 0.9, b: 1 }, 0.1), true);
    assert.equal(ruleHolds(rule('100 >= humidity'), { humidity: 100.5 }), false);
  });

  test('checkRule counts checked samples and lists violations in time order', () => {
    const samples = new Map<number, Record<string, number>>([
      [3000, { dew_point: 15, temperature: 14 }],
      [1000, { dew_point: 10, temperature: 20 }],
      [2000, { temperature: 20 }],
      [4000, { dew_point: 16, temperature: 14 }],
    ]);
    const c = checkRule(rule('dew_point <= temperature'), samples, 0);
    assert.equal(c.checked, 3);
    assert.deepEqual(c.violations.map((v) => v.ts), [3000, 4000]);
  });

  test('the config schema reports a bad rule with its path, with every other problem at once', () => {
    const r = configSchema.safeParse({
      quality: { rules: { list: [{ expr: 'dew_point <= temperature' }, { expr: 'a === b' }] }, spike: { k: 4, criticalK: 3 }, group: { groups: [{ name: 'g', sensors: ['ok', 'not ok'] }] } },
    });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(paths.some((p) => p.startsWith('quality.rules.list.1.expr: cannot read rule')), paths.join('\n'));
    assert.ok(paths.some((p) => p.startsWith('quality.group.groups.0.sensors: not a valid')), paths.join('\n'));
    // (object-level checks such as criticalK >= k run once the fields themselves are valid)
    const q = qualityConfigSchema.safeParse({ spike: { k: 4, criticalK: 3 } });
    assert.equal(q.success, false);
    assert.deepEqual(q.error!.issues.map((i) => i.path.join('.')), ['spike.criticalK']);
  });

  test('defaults: an absent section parses to the documented defaults', () => {
    const c = configSchema.parse({});
    assert.equal(c.quality.enabled, true);
    assert.equal(c.quality.windowMs, 3_600_000);
    assert.equal(c.quality.spike.k, 3);
    assert.equal(c.quality.spike.halfWindow, 3);
    assert.equal(c.quality.stuck.factor, 2);
    assert.equal(c.quality.completeness.silentIntervals, 5);
    assert.deepEqual(c.quality.rateOfChange.maxRatePerS, { temperature: 0.1, humidity: 0.5 });
    assert.deepEqual(c.quality.rules.list, []);
  });
});
