/**
 * Independent readers of the lake for the maintenance tests: hyparquet (no DuckDB involved) over the
 * live files chosen by the manifest rule, the documented DuckDB reader-rule SQL from docs/lake.md,
 * and a multiset fingerprint of rows.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
// hyparquet's own pure-JS decompressors (zstd among them): no DuckDB and no external tool in the reader.
import { compressors } from 'hyparquet-compressors';
import { liveFiles } from '../../src/sinks/lake/manifest.js';
import { FsLakeStore } from '../../src/sinks/lake/store.js';


export type Row = Record<string, unknown>;

/** Every row of one Parquet file, BIGINTs as numbers and timestamps as epoch ms. */
export async function readFileRows(path: string): Promise<Row[]> {
  const file = await asyncBufferFromFile(path);
  const rows = await parquetReadObjects({ file, compressors, parsers: { timestampFromMicroseconds: (us: bigint) => Number(us) / 1000 } });
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

/** Rows of the live files under `prefix` (manifest rule), read with hyparquet. */
export async function readLive(lakeDir: string, prefix: string): Promise<{ files: string[]; rows: Row[] }> {
  const files = await liveFiles(new FsLakeStore(lakeDir), prefix);
  return { files, rows: await readPaths(lakeDir, files) };
}

export async function readPaths(lakeDir: string, files: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const f of files) rows.push(...(await readFileRows(join(lakeDir, f))));
  return rows;
}

/** Sorted JSON lines of the rows: equal fingerprints mean equal multisets. */
export function fingerprint(rows: Row[]): string[] {
  return rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort();
}

/** Row-group statistics of `column` in a file, read by hyparquet from the footer. */
export async function rowGroupStats(path: string, column: string): Promise<{ rows: number; min: unknown; max: unknown }[]> {
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(path));
  return meta.row_groups.map((g) => {
    const c = g.columns.find((x) => x.meta_data?.path_in_schema.join('.') === column);
    const s = c?.meta_data?.statistics;
    return { rows: Number(g.num_rows), min: s?.min_value, max: s?.max_value };
  });
}

/** Every file under a directory (relative, sorted) with its content: a full snapshot for "nothing changed". */
export function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const p = join(e.parentPath, e.name);
      return `${relative(dir, p)} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`;
    })
    .sort();
}

/** The reader-rule SQL from docs/lake.md (the block that sets `lake_raw_files`), pointed at `lakeDir`. */
export function docsReaderRuleSql(lakeDir: string): string {
  const doc = readFileSync(new URL('../../docs/lake.md', import.meta.url), 'utf8');
  const block = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('SET VARIABLE lake_raw_files'));
  if (!block) throw new Error('docs/lake.md has no sql block setting lake_raw_files');
  return block.replaceAll("'data/lake/", `'${lakeDir.replaceAll("'", "''")}/`);
}

/** Runs the documented reader rule with DuckDB and returns its row count. */
export async function countWithDocsRule(conn: DuckDBConnection, lakeDir: string): Promise<number> {
  const rows = (await conn.runAndReadAll(docsReaderRuleSql(lakeDir))).getRowObjectsJS();
  return Number(rows[0]?.readings);
}
