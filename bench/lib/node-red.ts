/**
 * The peer: Node-RED 4, installed by the bench into a temp dir (never a dependency of Sensorpipe),
 * running the flow a user would build: mqtt in (QoS 1) -> json -> function (validate) -> file.
 * Queryable = a line in the file; the lines are read back and their (sensor, seq) counted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, writeFileSync, fstatSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/child-server.js';
import { startMosquitto } from '../../test/helpers/mosquitto.js';
import { SeqTracker } from './seq-tracker.js';
import type { Target } from './targets.js';

const INSTALL_DIR = join(tmpdir(), 'sensorpipe-bench-node-red');

/** Installs node-red@4 once (kept in the temp dir for the next run); null when installed, else why not. */
export function installNodeRed(): string | null {
  const pkg = join(INSTALL_DIR, 'node_modules', 'node-red', 'package.json');
  if (existsSync(pkg)) return null;
  mkdirSync(INSTALL_DIR, { recursive: true });
  writeFileSync(join(INSTALL_DIR, 'package.json'), '{"name":"bench-node-red","private":true}\n');
  console.log(`installing node-red@4 into ${INSTALL_DIR} (about a minute, once) ...`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'node-red@4'], { cwd: INSTALL_DIR, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !existsSync(pkg)) return `npm install node-red@4 failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`;
  return null;
}

// What a user's validating function node does: a parseable ts, finite numeric readings, sensor from the topic.
const VALIDATE = `
const p = msg.payload;
if (!p || typeof p !== 'object') return null;
if (!Number.isFinite(Date.parse(p.ts))) return null;
const r = p.readings || {};
const out = {};
for (const k of Object.keys(r)) {
  if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) return null;
  out[k] = r[k];
}
msg.payload = JSON.stringify({ sensor: msg.topic.split('/')[1], ts: p.ts, seq: p.seq, readings: out });
return msg;`;

function flow(brokerPort: number, outFile: string): unknown[] {
  return [
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'broker1', type: 'mqtt-broker', name: 'bench', broker: '127.0.0.1', port: String(brokerPort), clientid: 'node-red-bench', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'in1', type: 'mqtt in', z: 'tab1', topic: 'sensors/+/telemetry', qos: '1', datatype: 'utf8', broker: 'broker1', nl: false, rap: true, inputs: 0, wires: [['json1']] },
    { id: 'json1', type: 'json', z: 'tab1', property: 'payload', action: 'obj', pretty: false, wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 'tab1', name: 'validate', func: VALIDATE, outputs: 1, wires: [['file1']] },
    { id: 'file1', type: 'file', z: 'tab1', filename: outFile, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'utf8', wires: [] },
  ];
}

export async function nodeRed(dir: string): Promise<Target> {
  const mosq = await startMosquitto(dir);
  const userDir = join(dir, 'node-red');
  mkdirSync(userDir, { recursive: true });
  const outFile = join(dir, 'node-red-out.ndjson');
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow(mosq.port, outFile)));
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [join(INSTALL_DIR, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--port', String(port), 'flows.json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const connected = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Connected to broker')) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`node-red exited before connecting (code ${code}):\n${out.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`node-red did not connect to the broker within 60 s:\n${out.slice(-2000)}`)), 60_000).unref();
  });
  await connected;

  const seen = new SeqTracker();
  let offset = 0;
  let rest = '';
  const readNew = (): number => {
    if (!existsSync(outFile)) return 0;
    const fd = openSync(outFile, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        readSync(fd, buf, 0, buf.length, offset);
        offset = size;
        const lines = (rest + buf.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          const r = JSON.parse(line) as { sensor: string; seq: number };
          seen.add(r.sensor, r.seq);
        }
      }
    } finally {
      closeSync(fd);
    }
    return seen.count();
  };
  return {
    name: 'node-red',
    mqttUrl: mosq.url,
    pids: () => [proc.pid!, mosq.proc.pid!],
    delivered: async () => readNew(),
    distinct: async () => readNew(),
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGTERM');
        await exited;
      }
      await mosq.stop();
    },
  };
}
