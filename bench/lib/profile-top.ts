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

interface TreeNode extends ProfileNode {
  children?: number[];
}

/**
 * Self time charged to the innermost Sensorpipe source file on each sample's stack (so DuckDB's
 * appender counts for the sink that called it), else to the innermost package, else to V8's own
 * categories: which part of Sensorpipe costs the main thread what.
 */
export function byOwner(file: string, n = 25): { owner: string; selfPct: number }[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: TreeNode[] };
  const nodes = new Map(p.nodes.map((node) => [node.id, node]));
  const hits = new Map<string, number>();
  let total = 0;
  const walk = (id: number, owner: string, pkg: string): void => {
    const node = nodes.get(id)!;
    const url = node.callFrame.url;
    // dist/x.js is the compiled src/x.ts: named by its source
    const src = url.includes('/node_modules/') ? undefined : /\/(?:src|dist)\/([^?]+?)\.(?:js|ts)$/.exec(url)?.[1];
    const srcName = src ? `src/${src}.ts` : undefined;
    const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const own = srcName ?? owner;
    const pk = mod ?? pkg;
    const h = node.hitCount ?? 0;
    if (h) {
      const name = node.callFrame.functionName;
      const key = own || pk || (name.startsWith('(') ? name : '(node internals)');
      hits.set(key, (hits.get(key) ?? 0) + h);
      total += h;
    }
    for (const c of node.children ?? []) walk(c, own, pk);
  };
  walk(p.nodes[0].id, '', '');
  return [...hits.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([owner, h]) => ({ owner, selfPct: Math.round((h / Math.max(1, total)) * 1000) / 10 }));
}
