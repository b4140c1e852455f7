// Bounded fuzz run of every decoder target (test/fuzz/targets.ts): seeded, a few hundred runs each,
// so CI is reproducible. `npm run fuzz -- --seconds 60` runs them longer with fresh seeds; any
// counterexample it finds is saved under test/fixtures/bad-input/fuzz/ and replayed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { TARGETS, replayCrash } from '../fuzz/targets.js';

const CRASHES = fileURLToPath(new URL('../fixtures/bad-input/fuzz', import.meta.url));

for (const target of TARGETS) {
  test(`fuzz ${target.name}: never throws, catalogue reasons only, accepted readings finite (seeded, 300 runs)`, () => {
    fc.assert(target.property, { seed: 0x5e05, numRuns: 300 });
  });
}

test('every saved fuzz crash still decodes within the contract', () => {
  const files = readdirSync(CRASHES).filter((f) => f.endsWith('.json'));
  for (const f of files) {
    const c = JSON.parse(readFileSync(join(CRASHES, f), 'utf8')) as { target: string; payloadBase64: string };
    assert.equal(replayCrash(c.target, c.payloadBase64), null, f);
  }
});
