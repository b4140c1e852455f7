import type { SpoolRecord } from '../../src/core/types.js';
import type { SqliteSpool } from '../../src/pipeline/spool/sqlite-spool.js';

/** A record as the entry that was appended, for deepStrictEqual against it. */
export function withoutOffset(r: SpoolRecord): Omit<SpoolRecord, 'offset'> {
  const { offset: _offset, ...rest } = r;
  return rest;
}

/** Every record above `after`, in pages. */
export async function readAll(spool: SqliteSpool, after: number): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  for (;;) {
    const page = await spool.read(after, 1000);
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1].offset;
  }
}
