import { existsSync, readFileSync } from 'node:fs';
import { dataPaths } from '../runtime/paths.js';
import { CliError, EXIT } from './output.js';

export interface ServerTarget {
  url: string;
  token: string | null;
}

/**
 * Finds the server to talk to: --url/--token if given, else the server that runs on this data dir
 * (its server.json and local admin token). Returns null when no server runs there.
 */
export function findServer(opts: { url?: string; token?: string; dataDir: string }): ServerTarget | null {
  const token = opts.token ?? process.env.SENSORPIPE_TOKEN ?? null;
  if (opts.url) return { url: opts.url.replace(/\/$/, ''), token };
  const paths = dataPaths(opts.dataDir);
  if (!existsSync(paths.serverInfo)) return null;
  try {
    const info = JSON.parse(readFileSync(paths.serverInfo, 'utf8')) as { pid: number; httpUrl: string | null };
    if (!info.httpUrl || !isAlive(info.pid)) return null;
    const local = existsSync(paths.localToken) ? readFileSync(paths.localToken, 'utf8').trim() : null;
    return { url: info.httpUrl, token: token ?? local };
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function callServer<T>(target: ServerTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(target.url + path, {
      method,
      headers: {
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new CliError(`cannot reach Sensorpipe at ${target.url} (${(err as Error).message}). Is it running? Start it with \`npm start\` or \`sensorpipe start\`.`, EXIT.unavailable);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { message: text };
  }
  if (!res.ok) {
    const msg = (parsed as { message?: string }).message ?? text;
    throw new CliError(`${target.url}${path} answered ${res.status}: ${msg}`, res.status === 401 || res.status === 403 ? EXIT.usage : EXIT.failure);
  }
  return parsed as T;
}
