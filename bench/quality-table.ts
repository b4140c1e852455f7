/**
 * Renders the tables of docs/quality.md from a stored evaluation report, without measuring again.
 *
 *   node --import tsx bench/quality-table.ts [--in=bench/results/quality-eval.json] [--merge=other.json --write]
 *
 * `--merge` replaces the scores of the (check, dataset) pairs that the other report measured (a
 * partial run such as `quality-eval.ts --evals=ingest --out=other.json`); `--write` stores the
 * merged report back into `--in`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { markdown, targetTable, type Score } from './quality-report.js';

interface Report {
  date: string;
  scores: Score[];
  cleanFindings: Record<string, Record<string, Record<string, number>>>;
  merged?: { from: string; date: string; pairs: string[] }[];
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const inPath = opt('in') ?? 'bench/results/quality-eval.json';
const report = JSON.parse(readFileSync(inPath, 'utf8')) as Report;

const mergePath = opt('merge');
if (mergePath) {
  const other = JSON.parse(readFileSync(mergePath, 'utf8')) as Report;
  const key = (s: Score) => `${s.check}/${s.dataset}`;
  const replaced = new Map(other.scores.map((s) => [key(s), s]));
  report.scores = report.scores.map((s) => replaced.get(key(s)) ?? s);
  for (const s of other.scores) if (!report.scores.some((r) => key(r) === key(s))) report.scores.push(s);
  report.merged = [...(report.merged ?? []), { from: mergePath, date: other.date, pairs: [...replaced.keys()] }];
  if (args.includes('--write')) writeFileSync(inPath, `${JSON.stringify(report, null, 2)}\n`);
}

console.log(targetTable(report.scores));
console.log('');
console.log(markdown(report.scores));
console.log('');
console.log('| dataset | findings on the untouched data (check: severity count) |');
console.log('|---|---|');
for (const [ds, byCheck] of Object.entries(report.cleanFindings)) {
  const cells = Object.entries(byCheck).map(([check, sev]) => `${check}: ${Object.entries(sev).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  console.log(`| ${ds} | ${cells.join('; ')} |`);
}
