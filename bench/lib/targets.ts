/**
 * The targets of `npm run bench`, each started as its own process(es) so their CPU and memory are
 * measured from outside (/proc), and each able to say how many distinct (sensor, seq) pairs it
 * has made queryable: for Sensorpipe the warehouse over /v1/sql, for the ceilings their own count
 * over IPC, for Node-RED the lines of the file its flow writes.
 */
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type startChild } from '../../test/helpers/child-server.js';
import { startMosquitto, type Mosquitto } from '../../test/helpers/mosquitto.js';

export interface Target {
  name: string;
  /** Where the load publishes (null: HTTP target). */
  mqttUrl: string | null;
  pids(): number[];
  /** Messages queryable now (cheap; polled every 100 ms for latency). */
  delivered(): Promise<number>;
  /** Distinct (sensor, seq) pairs queryable now: equal to the messages acknowledged means no loss. */
  distinct(): Promise<number>;
  stop(): Promise<void>;
  /** The target's own output, for a step that failed. */
  log?(): string;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

async function ipcChild(script: string, args: string[]): Promise<{ proc: ChildProcess; port: number | null; count(): Promise<number> }> {
  const proc = fork(join(HERE, '..', 'targets', script), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(proc, 'message')) as [{ type: string; port?: number }];
  const count = async (): Promise<number> => {
    const reply = once(proc, 'message');
    proc.send('count');
    const [m] = (await reply) as [{ count: number }];
    return m.count;
  };
  return { proc, port: ready.port ?? null, count };
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function aedesCeiling(): Promise<Target> {
  const c = await ipcChild('aedes-ceiling.ts', []);
  return { name: 'aedes-ceiling', mqttUrl: `mqtt://127.0.0.1:${c.port}`, pids: () => [c.proc.pid!], delivered: c.count, distinct: c.count, stop: () => stopProc(c.proc) };
}

export async function bareSubscriber(dir: string): Promise<Target> {
  const mosq = await startMosquitto(dir);
  const c = await ipcChild('bare-subscriber.ts', [mosq.url, '8']);
  return {
    name: 'bare-subscriber',
    mqttUrl: mosq.url,
    pids: () => [c.proc.pid!, mosq.proc.pid!],
    delivered: c.count,
    distinct: c.count,
    stop: async () => {
      await stopProc(c.proc);
      await mosq.stop();
    },
  };
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `sensorpipe start` as a user runs it: the compiled `bin/sensorpipe.js` (run.ts builds `dist/`
 * first), not the TypeScript source under tsx, whose loader costs the server a few per cent of
 * its main thread. Node flags go first (--cpu-prof is refused in NODE_OPTIONS).
 */
function startServer(dataDir: string, mqttPort: number, args: string[], env: Record<string, string>, nodeArgs: string[]): ReturnType<typeof startChild> {
  const proc = spawn(process.execPath, [...nodeArgs, 'bin/sensorpipe.js', 'start', '--data-dir', dataDir, '--mqtt-port', String(mqttPort), '--http-port', '0', ...args], {
    cwd: ROOT,
    // debug: the writer's stage times for --profile; info otherwise, as a user runs it
    env: { ...process.env, SENSORPIPE_LOG_LEVEL: nodeArgs.length ? 'debug' : 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      // Only the start-up lines are kept whole; later output is capped so a long run's log cannot grow without bound.
      out = (out + d.toString()).slice(-2_000_000);
      if (out.includes('Sensorpipe is running.')) resolve();
    });
    proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-2_000_000)));
    void exited.then(({ code }) => reject(new Error(`server exited before it was ready (code ${code}):\n${out}`)));
  });
  ready.catch(() => undefined); // awaited by the caller; an early exit must not be an unhandled rejection meanwhile
  return { proc, ready, exited, output: () => out };
}

/** Builds `dist/` (what `bin/sensorpipe.js` runs) from the current source. */
export function buildDist(): void {
  execSync('npm run build --silent', { cwd: ROOT, stdio: 'inherit' });
}

/** Sensorpipe as a user runs it (`sensorpipe start`), queried over its own HTTP API. */
async function sensorpipe(name: string, dataDir: string, args: string[], env: Record<string, string>, mqttPort: number, mosq: Mosquitto | null, nodeArgs: string[] = []): Promise<Target & { httpUrl: string; token: string }> {
  const child = startServer(dataDir, mqttPort, args, env, nodeArgs);
  await child.ready;
  const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { httpUrl: string };
  const token = readFileSync(join(dataDir, 'local-admin.token'), 'utf8').trim();
  const sql = async (q: string): Promise<number> => {
    const res = await fetch(`${info.httpUrl}/v1/sql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: q }) });
    if (!res.ok) throw new Error(`${name}: /v1/sql answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { rows: Record<string, unknown>[] };
    return Number(Object.values(body.rows[0])[0]);
  };
  return {
    name,
    httpUrl: info.httpUrl,
    token,
    mqttUrl: mosq ? mosq.url : `mqtt://127.0.0.1:${mqttPort}`,
    pids: () => [child.proc.pid!, ...(mosq ? [mosq.proc.pid!] : [])],
    log: () => child.output(),
    delivered: () => sql("select count(*) from readings where metric = 'temperature'"),
    distinct: () => sql("select count(distinct (sensor_id, seq)) from readings where metric = 'temperature'"),
    stop: async () => {
      await stopProc(child.proc);
      await mosq?.stop();
    },
  };
}

/** With `cpuProfileDir`, the server runs under `node --cpu-prof` and writes its profile there when it stops. */
export async function sensorpipeEmbedded(dir: string, cpuProfileDir?: string, env: Record<string, string> = {}): Promise<Target & { httpUrl: string; token: string }> {
  const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  return sensorpipe('sensorpipe-embedded', join(dir, 'embedded-data'), ['--demo', '--no-fleet'], env, await freePort(), null, nodeArgs);
}

export async function sensorpipeExternal(dir: string, cpuProfileDir?: string): Promise<Target> {
  const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const mosq = await startMosquitto(dir);
  const env = {
    SENSORPIPE_MQTT__ENABLED: 'false',
    SENSORPIPE_MQTT_EXTERNAL__ENABLED: 'true',
    SENSORPIPE_MQTT_EXTERNAL__URL: mosq.url,
    // 32: MQTT.js takes one message at a time per connection, and the PUBACK waits for the spool (8 held 10k msg/s, 32 held 15k).
    SENSORPIPE_MQTT_EXTERNAL__CONNECTIONS: process.env.BENCH_EXTERNAL_CONNECTIONS ?? '32',
  };
  return sensorpipe('sensorpipe-external', join(dir, 'external-data'), [], env, await freePort(), mosq, nodeArgs);
}

/** Polls until `f` is true or `ms` passed. */
export async function waitFor(f: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await sleep(100);
  }
  return f();
}
