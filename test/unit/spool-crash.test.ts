import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, truncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SpoolRecord } from '../../src/core/types.js';
import { SqliteSpool } from '../../src/pipeline/spool/sqlite-spool.js';
import { entriesFor, keyOf } from '../helpers/spool-crash-entries.js';
import { readAll, withoutOffset } from '../helpers/spool-records.js';
import { scanWal } from '../helpers/spool-wal-frames.js';

const CHILD = fileURLToPath(new URL('../helpers/spool-crash-child.ts', import.meta.url));
const APPENDERS = 6;
const MAX_BYTES = 1024 * 1024 * 1024;

interface Ack {
  first: number;
  last: number;
  id: string;
}

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'spool-crash-'));
  dirs.push(d);
  return d;
}

/** Runs the child until it has printed `killAfter` acks, then SIGKILLs it; returns everything it acknowledged. */
async function runAndKill(dir: string, tag: string, killAfter: number, commitEvery: number): Promise<{ acks: Ack[]; commits: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, tag, String(APPENDERS), String(commitEvery)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const acks: Ack[] = [];
  const commits: number[] = [];
  // Every line is read, including those printed between kill() and the actual death: they were acknowledged too.
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, a, b, id] = line.split(' ');
    if (what === 'ack') acks.push({ first: Number(a), last: Number(b), id });
    else if (what === 'commit') commits.push(Number(a));
    if (acks.length >= killAfter && !child.killed) child.kill('SIGKILL');
  }
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `child ended otherwise than by our SIGKILL: ${stderr}`);
  assert.ok(acks.length >= killAfter);
  return { acks, commits };
}

/** Offsets unique and increasing, and every record (acknowledged or not) intact. */
function checkRecords(records: SpoolRecord[]): Map<number, SpoolRecord> {
  const byOffset = new Map<number, SpoolRecord>();
  let previous = 0;
  for (const r of records) {
    assert.ok(r.offset > previous, `offset ${r.offset} after ${previous}: not strictly increasing`);
    previous = r.offset;
    const { id, k } = keyOf(r);
    assert.deepStrictEqual(withoutOffset(r), entriesFor(id)[k], `record ${r.offset} (${id}:${k}) differs from what was appended`);
    byOffset.set(r.offset, r);
  }
  return byOffset;
}

function expectAcked(byOffset: Map<number, SpoolRecord>, acks: Ack[], checkpoint: number, upTo = Infinity): void {
  for (const ack of acks) {
    const entries = entriesFor(ack.id);
    assert.equal(ack.last - ack.first + 1, entries.length, `ack ${ack.id}: range size`);
    entries.forEach((entry, k) => {
      const offset = ack.first + k;
      if (offset <= checkpoint || offset > upTo) return;
      const r = byOffset.get(offset);
      assert.ok(r, `acknowledged entry ${ack.id}:${k} at offset ${offset} is missing (checkpoint ${checkpoint})`);
      assert.deepStrictEqual(withoutOffset(r), entry);
    });
  }
}

/** The spool keeps working after recovery: a new append lands above everything seen, and reads back. */
async function probe(spool: SqliteSpool, above: number, tag: string): Promise<Ack> {
  const id = `${tag}.probe`;
  const { firstOffset, lastOffset } = await spool.append(entriesFor(id));
  assert.ok(firstOffset > above, `offset ${firstOffset} reused (expected > ${above})`);
  const back = await spool.read(firstOffset - 1, 10);
  entriesFor(id).forEach((e, k) => assert.deepStrictEqual(withoutOffset(back[k]), e));
  return { first: firstOffset, last: lastOffset, id };
}

describe('SqliteSpool crash safety', () => {
  it('keeps every acknowledged entry across SIGKILLs at many points, also during commit and reclaim', async () => {
    const dir = await tempDir();
    const allAcks: Ack[] = [];
    const owner = new Map<number, string>();
    let highestSeen = 0;
    let committedFloor = 0;
    const killPoints = [1, 20, 80, 200, 450, 800];
    for (const [round, killAfter] of killPoints.entries()) {
      const { acks, commits } = await runAndKill(dir, `r${round}`, killAfter, 37);
      for (const ack of acks) {
        assert.ok(ack.first > highestSeen, `round ${round}: offset ${ack.first} not above ${highestSeen} from before the restart`);
        for (let o = ack.first; o <= ack.last; o++) {
          assert.ok(!owner.has(o), `offset ${o} acknowledged twice (${owner.get(o)} and ${ack.id})`);
          owner.set(o, ack.id);
        }
      }
      allAcks.push(...acks);
      committedFloor = Math.max(committedFloor, ...commits);

      const spool = await SqliteSpool.open({ dir, maxBytes: MAX_BYTES });
      const stats = await spool.stats();
      assert.ok(stats.checkpoint >= committedFloor, `round ${round}: checkpoint ${stats.checkpoint} below a returned commit ${committedFloor}`);
      assert.ok(stats.lastOffset >= Math.max(...acks.map((a) => a.last)));
      const records = await readAll(spool, stats.checkpoint);
      assert.equal(records.length, stats.depthRecords, 'depth after recovery matches the records present');
      expectAcked(checkRecords(records), allAcks, stats.checkpoint);

      const p = await probe(spool, stats.lastOffset, `r${round}`);
      allAcks.push(p);
      for (let o = p.first; o <= p.last; o++) owner.set(o, p.id);
      highestSeen = p.last;
      await spool.close();
    }
  });

  it('loses only the torn last transaction when the WAL tail is cut short', async () => {
    const dir = await tempDir();
    const wal = join(dir, 'spool.db-wal');
    // No commits: the WAL then holds a long run of append transactions to tear the last of. A kill
    // can land just after SQLite's automatic checkpoint restarted the WAL, leaving no commit frame
    // in it to tear; then the child runs a little longer.
    const acks: Ack[] = [];
    let commitEnds: number[] = [];
    for (const killAfter of [250, 90, 170, 60]) {
      acks.push(...(await runAndKill(dir, `torn${killAfter}`, killAfter, 0)).acks);
      commitEnds = scanWal(readFileSync(wal)).commitEnds;
      if (commitEnds.length > 0) break;
    }
    assert.ok(commitEnds.length > 0, 'the WAL holds committed transactions');

    // Reference states: the whole WAL as the kill left it, and the WAL cleanly ending at the commit
    // before the last one, which is what SQLite must recover to once the last frame is torn.
    const full = await tempDir();
    const previous = await tempDir();
    cpSync(dir, full, { recursive: true });
    cpSync(dir, previous, { recursive: true });
    const lastEnd = commitEnds[commitEnds.length - 1];
    truncateSync(join(previous, 'spool.db-wal'), commitEnds.length > 1 ? commitEnds[commitEnds.length - 2] : 32);
    // The torn write: the final (commit) frame is only partly on disk.
    truncateSync(wal, lastEnd - 300);

    const open = (d: string) => SqliteSpool.open({ dir: d, maxBytes: MAX_BYTES });
    const [torn, prev, whole] = await Promise.all([open(dir), open(previous), open(full)]);
    const [tornStats, prevStats, fullStats] = await Promise.all([torn.stats(), prev.stats(), whole.stats()]);
    const tornRecords = await readAll(torn, 0);
    const tornByOffset = checkRecords(tornRecords);

    // Exactly the last transaction is gone: the state is the one at the previous commit.
    assert.equal(tornStats.lastOffset, prevStats.lastOffset);
    assert.deepEqual(tornRecords.map((r) => r.offset), (await readAll(prev, 0)).map((r) => r.offset));

    // Everything acknowledged in the transactions before it survives, byte for byte.
    expectAcked(tornByOffset, acks, tornStats.checkpoint, tornStats.lastOffset);

    // What is missing was durable before the cut (so only the tear removed it) and came from that
    // one transaction, which holds at most one call per appender. In a real torn write that
    // transaction's commit never returned, so none of it was acknowledged.
    const lost = acks.filter((a) => a.last > tornStats.lastOffset);
    assert.ok(lost.length <= APPENDERS, `${lost.length} acknowledged calls lost, more than one transaction holds`);
    assert.ok(lost.every((a) => a.first > tornStats.lastOffset), 'a call straddles the recovered state');
    expectAcked(checkRecords(await readAll(whole, 0)), lost, fullStats.checkpoint);

    await probe(torn, tornStats.lastOffset, 'torn');
    await Promise.all([torn.close(), prev.close(), whole.close()]);
  });
});
