// A private Mosquitto for tests and benchmarks: its own config file on an ephemeral port, so the
// system broker's defaults (max_queued_messages 1000 drops silently for a slow QoS 1 subscriber)
// never decide a result.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './child-server.js';

export interface Mosquitto {
  port: number;
  url: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

const BIN = '/usr/sbin/mosquitto';

/** Null when Mosquitto is installed, else why it is not (the caller skips loudly, or fails under CI). */
export function mosquittoMissing(): string | null {
  const r = spawnSync(BIN, ['-h'], { encoding: 'utf8' });
  return r.error ? `${BIN} is not runnable (${r.error.message}); install it with: apt-get install -y mosquitto` : null;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts Mosquitto on a free port (or `port`, to restart one) with unlimited queues for offline persistent sessions. */
export async function startMosquitto(dir: string, extraConfig: string[] = [], fixedPort?: number): Promise<Mosquitto> {
  const port = fixedPort ?? (await freePort());
  const conf = join(dir, `mosquitto-${port}.conf`);
  const defaults = [
    'allow_anonymous true',
    'persistence false',
    // Queue everything for a subscriber that is slow or away: the test decides what is lost, not a default.
    'max_queued_messages 0',
    'max_inflight_messages 100',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ];
  // A setting given in extraConfig replaces the default (Mosquitto would take the first one).
  const overridden = new Set(extraConfig.map((l) => l.trim().split(/\s+/)[0]).filter((k) => k && k !== 'log_type' && !k.startsWith('#')));
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, ...defaults.filter((l) => !overridden.has(l.split(' ')[0])), ...extraConfig, ''].join('\n'));
  const proc = spawn(BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  for (let i = 0; i < 200 && !(await portOpen(port)); i++) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited at start (code ${proc.exitCode}):\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!(await portOpen(port))) throw new Error(`mosquitto did not open port ${port} within 5 s:\n${out}`);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    proc,
    log: () => out,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
