// The alerts and notifiers sections: defaults, and mistakes reported with their path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.js';

test('no alerts or notifiers section: the default rules, no notifier', () => {
  const c = configSchema.parse({});
  assert.equal(c.alerts.enabled, true);
  assert.deepEqual(
    Object.entries(c.alerts.rules).map(([name, r]) => [name, r.enabled, r.forS]),
    [['error_rate', true, 120], ['pipeline_lag', true, 60], ['sensor_silent', true, 0], ['completeness', true, 900], ['job_failed', true, 0], ['query_latency', true, 300]],
  );
  assert.equal(c.alerts.rules.error_rate.threshold, 0.01);
  assert.equal(c.alerts.rules.pipeline_lag.thresholdS, 300);
  assert.deepEqual(c.notifiers, []);
});

test('a partial rule keeps the other defaults; notifiers get retry defaults', () => {
  const c = configSchema.parse({
    alerts: { rules: { sensor_silent: { k: 3, groupBy: ['rule', 'sensor_id'] } } },
    notifiers: [{ name: 'ops', kind: 'teams', url: 'https://example.com/hook' }],
  });
  assert.deepEqual([c.alerts.rules.sensor_silent.k, c.alerts.rules.sensor_silent.forS, c.alerts.rules.sensor_silent.groupBy], [3, 0, ['rule', 'sensor_id']]);
  assert.deepEqual(c.notifiers[0], {
    name: 'ops',
    kind: 'teams',
    url: 'https://example.com/hook',
    teamsFormat: 'adaptive',
    headers: {},
    maxAttempts: 5,
    initialDelayMs: 1000,
    maxDelayMs: 30000,
    timeoutMs: 10000,
  });
});

test('mistakes are reported with their path, all at once', () => {
  const r = configSchema.safeParse({
    alerts: { rules: { error_rate: { threshold: 5 }, nosuchrule: {} } },
    notifiers: [
      { name: 'a', kind: 'slack', url: 'not a url' },
      { name: 'a', kind: 'pager', url: 'https://example.com' },
    ],
  });
  assert.equal(r.success, false);
  const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
  assert.deepEqual(paths, ['alerts.rules', 'alerts.rules.error_rate.threshold', 'notifiers.0.url', 'notifiers.1.kind'].sort());
  const dup = configSchema.safeParse({ notifiers: [{ name: 'a', kind: 'slack', url: 'https://x.example' }, { name: 'a', kind: 'webhook', url: 'https://y.example' }] });
  assert.equal(dup.success, false);
  assert.deepEqual(dup.error!.issues.map((i) => [i.path.join('.'), i.message]), [['notifiers.1.name', 'notifier name "a" is used twice']]);
});
