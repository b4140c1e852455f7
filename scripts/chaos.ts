// The long fault run: npm run chaos -- [--iterations 20] [--count 3000] [--seed S] [--keep]
// kill -9 at random crash points and random moments while the simulator publishes, then the ledger
// check of test/helpers/chaos.ts. Exits 1 when an acknowledged message is missing or the accounting
// does not balance. --keep leaves the data directory and ledgers for inspection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos } from '../test/helpers/chaos.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '20' }, count: { type: 'string', default: '3000' }, seed: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-chaos-'));
const seed = values.seed ?? String(Date.now());
const started = Date.now();
console.log(`chaos: ${values.iterations} iterations of ${values.count} messages, seed ${seed}, in ${dir}`);
const r = await runChaos({ dir, iterations: Number(values.iterations), count: Number(values.count), seed, log: (l) => console.log(l) });
const c = r.check;
const problems = [
  ...(c.missingReadings ? [`${c.missingReadings} acknowledged readings not stored exactly once with their value`] : []),
  ...(c.missingQuarantine ? [`${c.missingQuarantine} acknowledged bad messages not quarantined with their reason`] : []),
  ...c.accountingProblems,
  ...(c.lakeDistinct !== c.readingsRows ? [`raw lake holds ${c.lakeDistinct} distinct readings, the warehouse ${c.readingsRows}`] : []),
  ...(c.lakeRows !== c.readingsRows + c.conflictingDuplicates ? [`raw lake rows ${c.lakeRows} != readings ${c.readingsRows} + conflicting duplicates ${c.conflictingDuplicates}`] : []),
  ...(c.freshStored ? [] : ['the fresh message after the faults was not stored']),
];
console.log(JSON.stringify(c));
console.log(`${problems.length === 0 ? 'OK' : 'FAILED'}: ${c.acked} acknowledged messages (${c.ackedValidReadings} valid readings) over ${r.iterations.length} kills, ${c.parquetFiles} Parquet files open, ${((Date.now() - started) / 1000).toFixed(0)} s`);
for (const p of problems) console.log(`  - ${p}`);
if (values.keep) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(problems.length === 0 ? 0 : 1);
