import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface ChildServer {
  proc: ChildProcess;
  /** Resolves once the server printed its banner (it is taking traffic). */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Runs `sensorpipe start` from source in a child process, as a user would, on a given data dir. */
export function startChild(opts: { dataDir: string; mqttPort: number; args?: string[]; env?: Record<string, string> }): ChildServer {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'start', '--data-dir', opts.dataDir, '--mqtt-port', String(opts.mqttPort), '--http-port', '0', ...(opts.args ?? [])],
    { cwd: ROOT, env: { ...process.env, SENSORPIPE_LOG_LEVEL: 'warn', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Sensorpipe is running.')) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then(({ code, signal }) => reject(new Error(`server exited before it was ready (code ${code}, signal ${signal}):\n${out}`)));
  });
  ready.catch(() => {});
  return { proc, ready, exited, output: () => out };
}

/** `GET /v1/status` of the server running on `dataDir`, found as the CLI finds it (server.json, local admin token). */
export async function statusOf<T = Record<string, unknown>>(dataDir: string): Promise<T> {
  const server = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { httpUrl: string };
  const token = readFileSync(join(dataDir, 'local-admin.token'), 'utf8').trim();
  const res = await fetch(`${server.httpUrl}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET /v1/status on ${server.httpUrl}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Runs `sensorpipe <args> --data-dir <dataDir>` from source, as a user would; resolves with its exit code and output. */
export function runCli(args: string[], dataDir: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, SENSORPIPE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
