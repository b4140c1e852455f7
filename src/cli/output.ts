/** Exit codes, documented in the README: scripts rely on them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, unavailable: 4 } as const;

/** An error meant for the person at the terminal: what happened and what to do. */
export class CliError extends Error {
  constructor(message: string, public readonly exitCode: number = EXIT.failure) {
    super(message);
  }
}

export function printRows(rows: Record<string, unknown>[], columns: string[], json: boolean): void {
  if (json) {
    for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[i].length))));
  const line = (vals: string[]) => vals.map((v, i) => v.slice(0, 60).padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(line(columns) + '\n' + line(widths.map((w) => '-'.repeat(w))) + '\n');
  for (const row of cells) process.stdout.write(line(row) + '\n');
  process.stdout.write(`(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
