/**
 * Crash-test child: appends with several concurrent appenders until it is killed. A line
 * `ack <first> <last> <id>` is written only after append() resolved, `commit <offset>` only
 * after commit() resolved. stdout is a pipe, which Node writes synchronously on Linux, so a
 * printed line reaches the parent even when SIGKILL follows immediately.
 *
 * Usage: node --import tsx spool-crash-child.ts <dir> <tag> <appenders> <commitEvery|0>
 */
import { SqliteSpool } from '../../src/pipeline/spool/sqlite-spool.js';
import { entriesFor } from './spool-crash-entries.js';

const [dir, tag, appendersArg, commitEveryArg] = process.argv.slice(2);
const appenders = Number(appendersArg);
const commitEvery = Number(commitEveryArg);

// Eager reclamation, so kills also land in vacuum steps and WAL truncation.
const spool = await SqliteSpool.open({
  dir,
  maxBytes: 1024 * 1024 * 1024,
  reclaim: { minFreePages: 8, stepPages: 16, walTruncateBytes: 256 * 1024 },
});

const acked: number[] = [];
let committing = false;

async function commitSome(): Promise<void> {
  if (committing) return;
  committing = true;
  // Lag behind the newest acks, as a writer would, so the spool is never empty.
  const target = acked[Math.max(0, acked.length - 1 - Math.floor(commitEvery / 2))];
  await spool.commit(target);
  process.stdout.write(`commit ${target}\n`);
  committing = false;
}

async function appender(a: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const id = `${tag}.${a}.${seq}`;
    const { firstOffset, lastOffset } = await spool.append(entriesFor(id));
    process.stdout.write(`ack ${firstOffset} ${lastOffset} ${id}\n`);
    acked.push(lastOffset);
    if (commitEvery > 0 && acked.length % commitEvery === 0) void commitSome();
  }
}

await Promise.all(Array.from({ length: appenders }, (_, a) => appender(a)));
