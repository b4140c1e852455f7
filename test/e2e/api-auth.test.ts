// Walks every route of the OpenAPI document with every role and no token: 401 without a token,
// 403 for a role the table (src/api/route-roles.ts) does not allow, 2xx for one it allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROLES, type Role } from '../../src/auth/auth-store.js';
import { ROUTE_ROLES } from '../../src/api/route-roles.js';
import { startServer, tempDir } from '../helpers/server.js';

type Req = { url: string; payload?: string; headers?: Record<string, string> };

test('every route in /openapi.json answers 401/403/2xx exactly per the roles table', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const sp = await startServer(tmp.dir);
  t.after(() => sp.stop());
  const app = sp.http!;
  await sp.auth.addDevice('dev-1', ['s-dev']);
  const tokens: Record<Role, string> = {
    admin: sp.auth.createToken('admin'),
    analyst: sp.auth.createToken('analyst'),
    scientist: sp.auth.createToken('scientist'),
    device: sp.auth.createToken('device', null, Date.now(), 'dev-1'),
  };
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  const jobName = ((await app.inject({ method: 'GET', url: '/v1/jobs', headers: { authorization: `Bearer ${tokens.admin}` } })).json() as {
    jobs: { name: string }[];
  }).jobs[0]?.name;

  const now = new Date().toISOString();
  // A request each allowed role can make successfully.
  const sample = (method: string, path: string): Req => {
    const json = { 'content-type': 'application/json' };
    switch (`${method} ${path}`) {
      case 'POST /v1/sql':
        return { url: path, payload: JSON.stringify({ sql: 'select 1 as x' }), headers: json };
      case 'POST /v1/ingest':
        return { url: path, payload: JSON.stringify({ sensor_id: 's-dev', ts: now, temperature: 20 }), headers: json };
      case 'POST /v1/ingest/senml':
        return { url: path, payload: JSON.stringify([{ bn: 's-dev/', n: 'temperature', v: 20, t: Date.now() / 1000 }]), headers: json };
      case 'POST /v1/ingest/import':
        return {
          url: path,
          payload: JSON.stringify({ at: 'walk.csv:2', record: { sensor_id: 's-dev', ts: now, readings: { temperature: 20 } } }) + '\n',
          headers: { 'content-type': 'application/x-ndjson' },
        };
      case 'POST /api/v2/write':
        return { url: `${path}?precision=ms`, payload: `m,sensor_id=s-dev temperature=20 ${Date.now()}`, headers: { 'content-type': 'text/plain' } };
      case 'GET /v1/export/features':
        return { url: `${path}?sensors=s-dev&metrics=temperature&from=${encodeURIComponent(new Date(Date.now() - 7_200_000).toISOString())}&to=${encodeURIComponent(now)}&format=manifest` };
      case 'GET /v1/readings':
        return { url: `${path}?sensor=s-dev` };
      case 'GET /v1/sensors/:id':
        return { url: '/v1/sensors/s-walk' };
      case 'PUT /v1/sensors/:id':
        return { url: '/v1/sensors/s-walk', payload: JSON.stringify({ location: 'lab' }), headers: json };
      case 'POST /v1/quarantine/replay':
        return { url: path, payload: JSON.stringify({ filter: { reason: 'nothing_like_this' } }), headers: json };
      case 'POST /v1/jobs/:name/run':
        return { url: `/v1/jobs/${jobName}/run`, payload: JSON.stringify({ dryRun: true, from: '-6h', to: '-2h' }), headers: json };
      default:
        return { url: path };
    }
  };
  // The sensor /v1/sensors/:id reads must exist first.
  await sp.warehouse.upsertSensor({ sensorId: 's-walk', location: null, type: null, expectedIntervalS: null, metrics: {} });

  let walked = 0;
  for (const [oaPath, ops] of Object.entries(doc.paths)) {
    const path = oaPath.replace(/\{(\w+)\}/g, ':$1');
    for (const m of Object.keys(ops)) {
      const method = m.toUpperCase();
      const key = `${method} ${path}`;
      const access = ROUTE_ROLES[key];
      assert.ok(access !== undefined, `${key} is in the OpenAPI document but not in src/api/route-roles.ts`);
      assert.deepEqual(ops[m]!.security, access === 'public' ? [] : [{ bearerAuth: [] }], `${key}: security entry`);
      const req = sample(method, path);
      const send = (token: string | null) =>
        app.inject({
          method: method as 'GET',
          url: req.url,
          headers: { ...(req.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ...(req.payload !== undefined ? { payload: req.payload } : {}),
        });
      const none = await send(null);
      if (access === 'public') {
        assert.ok(none.statusCode >= 200 && none.statusCode < 300, `${key} without a token: ${none.statusCode}`);
      } else {
        assert.equal(none.statusCode, 401, `${key} without a token`);
      }
      for (const role of ROLES) {
        const r = await send(tokens[role]);
        const allowed = access === 'public' || access.includes(role);
        if (allowed) assert.ok(r.statusCode >= 200 && r.statusCode < 300, `${key} as ${role}: ${r.statusCode} ${r.body.slice(0, 300)}`);
        else assert.equal(r.statusCode, 403, `${key} as ${role}: ${r.body.slice(0, 200)}`);
        walked++;
      }
    }
  }
  // 16 routes in the document at the time of writing (jobs included); fewer means a route vanished.
  assert.ok(Object.keys(doc.paths).length >= 15, `paths: ${Object.keys(doc.paths).join(', ')}`);
  assert.ok(walked >= 16 * 4);
  // /docs serves swagger-ui from local files.
  const docs = await app.inject({ method: 'GET', url: '/docs/static/index.html' });
  assert.ok([200, 302].includes(docs.statusCode));
  const ui = await app.inject({ method: 'GET', url: '/docs' });
  assert.equal(ui.statusCode, 200);
  assert.match(ui.body, /swagger/i);
  assert.doesNotMatch(ui.body, /https?:\/\/(cdn|unpkg|cdnjs)/);
});
