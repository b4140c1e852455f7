// The long fuzz run: npm run fuzz -- [--seconds 60] [--runs N] [--seed S] [--target name]
// Runs every decoder target of test/fuzz/targets.ts for --seconds each (or --runs runs each) with a
// fresh seed, prints the seed so a failure can be replayed, and saves each counterexample's payload
// under test/fixtures/bad-input/fuzz/ where `npm test -- fuzz-decoders` replays it from then on.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { TARGETS } from '../test/fuzz/targets.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' }, target: { type: 'string' } },
});
const seconds = values.seconds ? Number(values.seconds) : values.runs ? undefined : 30;
const runs = values.runs ? Number(values.runs) : Number.MAX_SAFE_INTEGER;
const seed = values.seed ? Number(values.seed) : Date.now() ^ (Math.random() * 0x7fffffff);
const targets = TARGETS.filter((t) => !values.target || t.name === values.target);
if (targets.length === 0) {
  console.error(`no target named ${values.target}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const t of targets) {
  const started = Date.now();
  const r = fc.check(t.property, { seed, numRuns: runs, ...(seconds ? { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false } : {}) });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (!r.failed) {
    console.log(`ok    ${t.name}: ${r.numRuns} runs in ${took} s (seed ${seed})`);
    continue;
  }
  failed++;
  const example = r.counterexample?.[0];
  console.log(`FAIL  ${t.name} after ${r.numRuns} runs (seed ${seed}, path ${r.counterexamplePath}): ${String(r.errorInstance).slice(0, 500)}`);
  if (Buffer.isBuffer(example)) {
    const name = `${t.name}-${createHash('sha256').update(example).digest('hex').slice(0, 12)}.json`;
    const file = new URL(`../test/fixtures/bad-input/fuzz/${name}`, import.meta.url);
    writeFileSync(file, JSON.stringify({ target: t.name, found: `npm run fuzz, seed ${seed}, ${new Date().toISOString()}`, payloadBase64: example.toString('base64') }, null, 2) + '\n');
    console.log(`      saved as test/fixtures/bad-input/fuzz/${name}: fix the decoder, then commit the fixture`);
  } else {
    console.log(`      counterexample: ${fc.stringify(r.counterexample)}`);
  }
}
process.exit(failed ? 1 : 0);
