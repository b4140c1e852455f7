// A private PostgreSQL cluster for fault tests: its own data directory and an ephemeral port, so a
// test may stop and start it without touching the machine's server (which other tests use).
// PostgreSQL refuses to run as root: when we are root, initdb and pg_ctl run as the `postgres` user.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './child-server.js';

export interface PrivatePostgres {
  url: string;
  port: number;
  stop(): void;
  start(): void;
  destroy(): void;
}

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return null;
}

/** Null when a private cluster can be made here, else why not. */
export function privatePostgresMissing(): string | null {
  if (!binDir()) return 'no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install -y postgresql)';
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'running as root and there is no postgres user to run the server as';
  return null;
}

function run(cmd: string, args: string[]): void {
  const asPostgres = process.getuid?.() === 0;
  const r = asPostgres ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** initdb + start on a free port; trust auth for the local user `postgres`. */
export async function startPrivatePostgres(dir: string): Promise<PrivatePostgres> {
  const bin = binDir()!;
  const data = join(dir, 'pgdata');
  const sock = join(dir, 'pgsock');
  mkdirSync(sock, { recursive: true });
  // The server user must be able to reach and write these.
  for (const d of [dir, sock]) chmodSync(d, 0o777);
  const port = await freePort();
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  const start = () => run(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', join(dir, 'pg.log'), '-o', `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  const stop = () => run(join(bin, 'pg_ctl'), ['-D', data, '-w', '-m', 'fast', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    destroy: () => {
      try {
        stop();
      } catch {
        // already stopped
      }
    },
  };
}
