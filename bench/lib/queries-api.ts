/**
 * The product as a BI user reaches it: `sensorpipe start` in a child process on the loaded
 * warehouse, with every scheduled job off (the jobs would otherwise catch up on empty windows up to
 * now and compete with the queries) and the /v1/sql limits raised so a minute-long scan is measured
 * instead of cut at the default 10 s.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild, type ChildServer } from '../../test/helpers/child-server.js';
import type { EngineSetup } from './queries-engines.js';

export interface ApiServer {
  url: string;
  token: string;
  startMs: number;
  child: ChildServer;
}

const JOBS = ['resample', 'rollup_1h', 'rollup_1d', 'quality', 'digest', 'lake_compact', 'lake_archive', 'retention'];

export async function startApi(s: EngineSetup, timeoutMs: number): Promise<ApiServer> {
  const config = {
    warehouse: s.warehouseConfig,
    sql: { maxRows: 100_000, timeoutMs },
    jobs: Object.fromEntries(JOBS.map((j) => [j, { enabled: false }])),
  };
  const file = join(s.dataDir, 'bench-queries.yaml');
  await writeFile(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const t = performance.now();
  const child = startChild({ dataDir: s.dataDir, mqttPort: 0, args: ['--config', file] });
  await child.ready;
  const startMs = Math.round(performance.now() - t);
  const info = JSON.parse(await readFile(join(s.dataDir, 'server.json'), 'utf8')) as { httpUrl: string };
  const token = (await readFile(join(s.dataDir, 'local-admin.token'), 'utf8')).trim();
  return { url: info.httpUrl, token, startMs, child };
}

export async function stopApi(a: ApiServer): Promise<void> {
  a.child.proc.kill('SIGTERM');
  const timer = setTimeout(() => a.child.proc.kill('SIGKILL'), 30_000);
  await a.child.exited;
  clearTimeout(timer);
}

/** One request; resolves with the rows/points it returned, throws with the server's message otherwise. */
export async function apiRequest(a: ApiServer, req: { method: 'GET'; path: string } | { method: 'POST'; path: string; body: unknown }): Promise<number> {
  const res = await fetch(`${a.url}${req.path}`, {
    method: req.method,
    headers: { authorization: `Bearer ${a.token}`, ...(req.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: req.method === 'POST' ? JSON.stringify(req.body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${req.method} ${req.path.split('?')[0]}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { rows?: unknown[]; points?: unknown[]; sensors?: unknown[] };
  return (body.rows ?? body.points ?? body.sensors ?? []).length;
}
