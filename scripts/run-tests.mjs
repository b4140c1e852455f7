#!/usr/bin/env node
// Runs every test file under test/ with the node test runner (TypeScript through tsx).
// Usage: npm test [-- <substring filter on file paths>]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// test/e2e/tls.test.ts passed but its process did not exit under this runner (a handle left open by
// the start that fails on an unreadable key file, cause not found yet): it runs by itself after the
// rest, with --test-force-exit.
const ALONE = ['test/e2e/tls.test.ts'];
const batches = [files.filter((f) => !ALONE.includes(f)), files.filter((f) => ALONE.includes(f))].filter((b) => b.length > 0);
let status = 0;
for (const batch of batches) {
  const r = spawnSync(
    process.execPath,
    // --test-timeout: no test may hang the run; the slowest (multi-process crash tests) take up to ~2 min.
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', '--test-reporter=spec', ...(batch.some((f) => ALONE.includes(f)) ? ['--test-force-exit'] : []), ...batch],
    { stdio: 'inherit' },
  );
  status ||= r.status ?? 1;
}
process.exit(status);
