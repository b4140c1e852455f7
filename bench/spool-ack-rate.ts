/**
 * Acknowledgement rate of the durable spool versus a ceiling on the same disk.
 *
 * The ceiling is the least any fsync-before-ack design can do: one append-only file, and a
 * group commit of "write everything queued, fdatasync, answer everyone". The spool does the
 * same through SQLite (WAL, synchronous=FULL) in a worker thread, plus encoding and a
 * thread hop, so the ratio says what that machinery costs.
 *
 * A second ceiling overwrites a preallocated region instead of appending. On ext4 and most
 * file systems, fdatasync after an append must also journal the new file size; SQLite's WAL,
 * once it wraps, rewrites space it already has and skips that. Without this variant the spool
 * can look faster than its "ceiling".
 *
 * Each contender runs its 5 s as interleaved 1 s slices (spool, append, preallocated, spool, …),
 * so a load swing on a shared machine hits all three alike instead of one of them.
 *
 * Run: node --import tsx bench/spool-ack-rate.ts [--seconds 5] [--dir <path on the disk to measure>]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SpoolEntry } from '../src/core/types.js';
import { SqliteSpool } from '../src/pipeline/spool/sqlite-spool.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, dir: { type: 'string' } } });
const SECONDS = Number(values.seconds);
const CONCURRENCY = [1, 10, 100];
const PAYLOAD_BYTES = 150;
const PREALLOCATED_BYTES = 16 * 1024 * 1024;

interface Run {
  acks: number;
  ackPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Appends per fsync'd transaction (group commit). */
  perCommit: number;
}

/** Something that acknowledges appends; `commits()` counts its fsync'd transactions so far. */
interface Contender {
  append(i: number): Promise<unknown>;
  commits(): Promise<number>;
  close(): Promise<void>;
}

function payloadFor(i: number): Buffer {
  const body = `{"sensor":"s-${i % 1000}","ts":${1_700_000_000_000 + i},"temperature":21.5,"humidity":40.25,"battery":3.71,"rssi":-67}`;
  const payload = Buffer.alloc(PAYLOAD_BYTES, ' ');
  payload.write(body);
  return payload;
}

function entry(i: number): SpoolEntry {
  return {
    kind: 'message',
    message: { source: 'mqtt', topic: `sensors/s-${i % 1000}/telemetry`, deviceId: `dev-${i % 1000}`, receivedAt: Date.now(), payload: payloadFor(i) },
    readings: [{ sensorId: `s-${i % 1000}`, metric: 'temperature', ts: 1_700_000_000_000 + i, value: 21.5, seq: null }],
    quarantined: [],
  };
}

async function openSpool(dir: string): Promise<Contender> {
  const spool = await SqliteSpool.open({ dir, maxBytes: 8 * 1024 * 1024 * 1024 });
  return {
    append: (i) => spool.append([entry(i)]),
    commits: async () => (await spool.stats()).appendTransactions,
    close: () => spool.close(),
  };
}

/** The ceiling: one file, group commit by write + fdatasync; appending, or wrapping around a preallocated region. */
async function openCeiling(file: string, preallocated: boolean): Promise<Contender> {
  const fh = await open(file, preallocated ? 'w+' : 'a');
  if (preallocated) {
    await fh.write(Buffer.alloc(PREALLOCATED_BYTES), 0, PREALLOCATED_BYTES, 0);
    await fh.sync();
  }
  let position = 0;
  let queue: { buf: Buffer; done: () => void }[] = [];
  let flushing = false;
  let commits = 0;
  const flush = async (): Promise<void> => {
    flushing = true;
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      const buf = Buffer.concat(group.map((g) => g.buf));
      if (preallocated) {
        if (position + buf.length > PREALLOCATED_BYTES) position = 0;
        await fh.write(buf, 0, buf.length, position);
        position += buf.length;
      } else {
        await fh.write(buf);
      }
      await fh.datasync();
      commits++;
      for (const g of group) g.done();
    }
    flushing = false;
  };
  return {
    append: (i) => {
      const payload = payloadFor(i);
      const header = Buffer.alloc(12);
      header.writeUInt32LE(payload.length, 0);
      header.writeDoubleLE(i, 4);
      return new Promise<void>((done) => {
        queue.push({ buf: Buffer.concat([header, payload]), done });
        if (!flushing) void flush();
      });
    },
    commits: async () => commits,
    close: () => fh.close(),
  };
}

interface Tally {
  acks: number;
  seconds: number;
  latencies: number[];
}

/** N appenders in closed loops for `seconds`; each waits for its ack before its next append. */
async function slice(c: Contender, concurrency: number, seconds: number, tally: Tally): Promise<void> {
  let i = tally.acks;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await c.append(i++);
        tally.latencies.push(performance.now() - t);
      }
    }),
  );
  tally.seconds += (performance.now() - start) / 1000;
  tally.acks = tally.latencies.length;
}

function summarize(t: Tally, commits: number): Run {
  const sorted = t.latencies.sort((a, b) => a - b);
  const pct = (p: number): number => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(2));
  return { acks: t.acks, ackPerSec: Math.round(t.acks / t.seconds), p50Ms: pct(0.5), p99Ms: pct(0.99), perCommit: Number((t.acks / commits).toFixed(1)) };
}

async function measure(work: string, concurrency: number): Promise<Run[]> {
  const contenders = [
    await openSpool(join(work, `spool-${concurrency}`)),
    await openCeiling(join(work, `append-${concurrency}.log`), false),
    await openCeiling(join(work, `prealloc-${concurrency}.log`), true),
  ];
  const tallies: Tally[] = contenders.map(() => ({ acks: 0, seconds: 0, latencies: [] }));
  const slices = Math.max(1, Math.round(SECONDS));
  for (let s = 0; s < slices; s++) {
    for (const [k, c] of contenders.entries()) await slice(c, concurrency, SECONDS / slices, tallies[k]);
  }
  const runs = await Promise.all(contenders.map(async (c, k) => summarize(tallies[k], await c.commits())));
  for (const c of contenders) await c.close();
  return runs;
}

const base = values.dir ?? tmpdir();
mkdirSync(base, { recursive: true });
const work = mkdtempSync(join(base, 'spool-bench-'));
const ratio = (a: Run, b: Run): number => Number((a.ackPerSec / b.ackPerSec).toFixed(2));
const loadBefore = loadavg()[0];
const rows: { concurrency: number; spool: Run; ceiling: Run; ratio: number; ceilingPreallocated: Run; ratioPreallocated: number }[] = [];
try {
  for (const concurrency of CONCURRENCY) {
    const [spool, ceiling, ceilingPreallocated] = await measure(work, concurrency);
    rows.push({ concurrency, spool, ceiling, ratio: ratio(spool, ceiling), ceilingPreallocated, ratioPreallocated: ratio(spool, ceilingPreallocated) });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`spool ack rate, ${PAYLOAD_BYTES}-byte payloads, ${SECONDS} s per contender, disk of ${base}, load average ${loadBefore.toFixed(1)}`);
console.table(
  rows.map((r) => ({
    appenders: r.concurrency,
    'spool acks/s': r.spool.ackPerSec,
    'append+fdatasync acks/s': r.ceiling.ackPerSec,
    'spool/ceiling': r.ratio,
    'prealloc+fdatasync acks/s': r.ceilingPreallocated.ackPerSec,
    'spool/prealloc': r.ratioPreallocated,
    'spool p50/p99 ms': `${r.spool.p50Ms} / ${r.spool.p99Ms}`,
    'append p50/p99 ms': `${r.ceiling.p50Ms} / ${r.ceiling.p99Ms}`,
    'spool acks/commit': r.spool.perCommit,
  })),
);

const out = new URL('./results/spool-ack-rate.json', import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const meta = { date: new Date().toISOString(), node: process.version, dir: base, payloadBytes: PAYLOAD_BYTES, secondsPerContender: SECONDS, loadAverage: loadBefore };
writeFileSync(out, JSON.stringify({ ...meta, rows }, null, 2) + '\n');
console.log(`written ${out.pathname}`);
