import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir } from '../helpers/server.js';

test('GET /v1/quality: findings newest window first, filters, counts, bad parameters', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  const token = sp.auth.createToken('analyst');
  await sp.warehouse.jobTransaction(async (tx) => {
    const ins = `INSERT INTO quality_results VALUES ($1, $2, $3, $4::TIMESTAMP, $5::TIMESTAMP, $6, $7, $8, $9, $10::TIMESTAMP)`;
    await tx.run(ins, ['spike', 's1', 'temperature', '2026-01-01 10:00:00', '2026-01-01 11:00:00', 'critical', 95.5, 21.0, 'Hampel: 95.5 vs median 21.0', '2026-01-01 11:05:00']);
    await tx.run(ins, ['completeness', 's1', 'temperature', '2026-01-01 11:00:00', '2026-01-01 12:00:00', 'warning', 40, 60, '40 of 60 expected', '2026-01-01 12:05:00']);
    await tx.run(ins, ['completeness', 's2', 'humidity', '2026-01-01 09:00:00', '2026-01-01 10:00:00', 'warning', 50, 60, '50 of 60 expected', '2026-01-01 10:05:00']);
  });
  const get = (qs: string) => sp.http!.inject({ method: 'GET', url: `/v1/quality${qs}`, headers: { authorization: `Bearer ${token}` } });

  const all = (await get('')).json() as { total: number; counts: { check: string; severity: string; n: number }[]; items: { check: string; sensor_id: string; window_start: string; observed: number }[] };
  assert.equal(all.total, 3);
  assert.deepEqual(all.counts, [
    { check: 'completeness', severity: 'warning', n: 2 },
    { check: 'spike', severity: 'critical', n: 1 },
  ]);
  assert.deepEqual(all.items.map((i) => [i.check, i.sensor_id, i.window_start]), [
    ['completeness', 's1', '2026-01-01T11:00:00.000Z'],
    ['spike', 's1', '2026-01-01T10:00:00.000Z'],
    ['completeness', 's2', '2026-01-01T09:00:00.000Z'],
  ]);
  const crit = (await get('?severity=critical')).json() as typeof all;
  assert.deepEqual(crit.items.map((i) => [i.check, i.observed]), [['spike', 95.5]]);
  const s2 = (await get('?sensor=s2&check=completeness')).json() as typeof all;
  assert.equal(s2.total, 1);
  const window = (await get('?from=2026-01-01T10:30:00Z&to=2026-01-01T11:30:00Z')).json() as typeof all;
  assert.deepEqual(window.items.map((i) => i.check).sort(), ['completeness', 'spike']);
  assert.equal((await get("?sensor=x'%20or%201=1--")).statusCode, 400);
  assert.equal((await get('?severity=bad')).statusCode, 400);
  assert.equal((await sp.http!.inject({ method: 'GET', url: '/v1/quality' })).statusCode, 401);
});
