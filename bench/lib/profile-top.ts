/**
 * The top functions by self time of a V8 .cpuprofile (from `node --cpu-prof`): what dominates a
 * target's CPU, as a markdown table for docs/performance.md.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface TopFunction {
  fn: string;
  where: string;
  selfPct: number;
}

export function topFunctions(file: string, n = 15): { totalSamples: number; top: TopFunction[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const by = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  for (const node of p.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*?\/node_modules\//, 'node_modules/').replace(/^.*?\/(src|bench)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}|${where}`;
    const e = by.get(key) ?? { fn: functionName || '(anonymous)', where, hits: 0 };
    e.hits += hits;
    by.set(key, e);
  }
  const top = [...by.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, selfPct: Math.round((e.hits / Math.max(1, total)) * 1000) / 10 }));
  return { totalSamples: total, top };
}
