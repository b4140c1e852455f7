/**
 * The encoding grid: the rows of a compacted lake re-encoded with one setting changed at a time
 * (zstd level, Parquet version, sort order, row group size) plus changes the product may not make on
 * its own (a smaller column set, FLOAT values, coarser files). Each variant is written the way the
 * compaction job writes (one file per partition unless the variant says otherwise) and measured from
 * its footers; DuckDB reads every variant back and its rows are checked against the source.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { measureFiles, perReading, r3, sqlList, sqlString, type FileSetSize, type PerReading } from './storage-measure.js';

export const ALL_COLUMNS = ['sensor_id', 'metric', 'ts', 'value', 'seq', 'received_at', 'source', 'topic', 'device_id', 'spool_offset'];
const CORE_COLUMNS = ['sensor_id', 'metric', 'ts', 'value'];
export const PRODUCT_SORT = 'sensor_id, metric, ts, spool_offset';

export interface Variant {
  name: string;
  /** What the variant changes, for the report's grouping. */
  axis: 'baseline' | 'zstd level' | 'parquet version' | 'sort order' | 'row group size' | 'schema (bench only)' | 'file granularity (bench only)';
  version: 'V1' | 'V2';
  zstd: number;
  sort: string;
  rowGroupSize: number;
  /** Lake columns kept (the lake's column set unless `axis` says bench only). */
  columns: string[];
  /** Stores value as FLOAT (32-bit): lossy, bench only. */
  floatValue?: boolean;
  /** Stores value as DECIMAL(18, scale) (an INT64 in Parquet): exact when every value has at most `scale` decimals; bench only. */
  decimalScale?: number;
  /**
   * One file per UTC day (the lake's partition), per month, one for the whole dataset, or one per
   * series (sensor_id, metric) over the whole dataset: the layout of a time-series store's blocks.
   */
  granularity: 'day' | 'month' | 'all' | 'series';
}

const RG = 122_880;
const base = { sort: PRODUCT_SORT, rowGroupSize: RG, columns: ALL_COLUMNS, granularity: 'day' as const };

/**
 * The grid. `quick` keeps one of each axis so a smoke run stays short. `decimalScale` is the
 * dataset's (see decimalScaleOf); null leaves the DECIMAL variants out.
 */
export function variantGrid(quick: boolean, decimalScale: number | null): Variant[] {
  const v: Variant[] = [{ ...base, name: 'V1 zstd 6 (compaction today)', axis: 'baseline', version: 'V1', zstd: 6 }];
  for (const version of ['V1', 'V2'] as const) {
    for (const zstd of quick ? [6, 19] : [3, 6, 9, 19]) {
      if (version === 'V1' && zstd === 6) continue;
      v.push({ ...base, name: `${version} zstd ${zstd}`, axis: version === 'V1' ? 'zstd level' : 'parquet version', version, zstd });
    }
  }
  const sorts = quick ? ['ts, sensor_id, metric'] : ['ts, sensor_id, metric', 'metric, sensor_id, ts', 'sensor_id, ts, metric'];
  for (const sort of sorts) {
    for (const version of ['V1', 'V2'] as const) v.push({ ...base, name: `${version} zstd 6, ORDER BY ${sort}`, axis: 'sort order', version, zstd: 6, sort });
  }
  for (const rowGroupSize of quick ? [16_384] : [16_384, 1_048_576]) {
    v.push({ ...base, name: `V2 zstd 6, row groups of ${rowGroupSize.toLocaleString('en-US')}`, axis: 'row group size', version: 'V2', zstd: 6, rowGroupSize });
  }
  const schema = 'schema (bench only)' as const;
  v.push({ ...base, name: 'V1 zstd 6, value as FLOAT', axis: schema, version: 'V1', zstd: 6, floatValue: true });
  v.push({ ...base, name: 'V2 zstd 6, value as FLOAT', axis: schema, version: 'V2', zstd: 6, floatValue: true });
  if (decimalScale !== null) {
    for (const version of ['V1', 'V2'] as const) {
      v.push({ ...base, name: `${version} zstd 19, value as DECIMAL(18,${decimalScale})`, axis: schema, version, zstd: 19, decimalScale });
    }
    v.push({ ...base, name: `V2 zstd 19, sensor_id/metric/ts/value only, value as DECIMAL(18,${decimalScale})`, axis: schema, version: 'V2', zstd: 19, columns: CORE_COLUMNS, decimalScale });
  }
  v.push({ ...base, name: 'V2 zstd 19, sensor_id/metric/ts/value only', axis: schema, version: 'V2', zstd: 19, columns: CORE_COLUMNS });
  v.push({ ...base, name: 'V1 zstd 19, sensor_id/metric/ts/value only', axis: schema, version: 'V1', zstd: 19, columns: CORE_COLUMNS });
  const gran = 'file granularity (bench only)' as const;
  for (const granularity of ['month', 'all'] as const) {
    for (const version of ['V1', 'V2'] as const) v.push({ ...base, name: `${version} zstd 19, one file per ${granularity === 'all' ? 'dataset' : 'month'}`, axis: gran, version, zstd: 19, granularity });
    v.push({ ...base, name: `V1 zstd 19, one file per ${granularity === 'all' ? 'dataset' : 'month'}, sensor_id/metric/ts/value only`, axis: gran, version: 'V1', zstd: 19, granularity, columns: CORE_COLUMNS });
  }
  // In a file of one series every ts is distinct, so V2 delta-encodes it instead of a dictionary.
  for (const version of ['V1', 'V2'] as const) {
    v.push({ ...base, name: `${version} zstd 19, one file per series, sensor_id/metric/ts/value only`, axis: gran, version, zstd: 19, granularity: 'series', columns: CORE_COLUMNS });
  }
  return v;
}

export interface VariantResult {
  variant: Variant;
  size: FileSetSize;
  perReading: PerReading;
  /** Wall time to write every file of the variant (one DuckDB thread). */
  writeMs: number;
  /** DuckDB read the files back: same rows (hash over the kept columns) as the source. */
  duckdbRowsIdentical: boolean;
  /** FLOAT and DECIMAL only: largest |value - stored| / |value| over the rows (0: exact). */
  maxRelativeError?: number;
  paths: string[];
}

const storedValue = (v: Variant) => (v.floatValue ? 'value::FLOAT' : v.decimalScale !== undefined ? `value::DECIMAL(18,${v.decimalScale})` : 'value');

/**
 * The fewest decimals (0..9) that hold every value of `src` exactly (DOUBLE → DECIMAL → DOUBLE gives
 * the same DOUBLE), or null when some value needs more (a derived quantity at full precision).
 */
export async function decimalScaleOf(conn: DuckDBConnection): Promise<number | null> {
  for (let k = 0; k <= 9; k++) {
    const bad = (await conn.runAndReadAll(`SELECT count(*) AS n FROM src WHERE TRY_CAST(value AS DECIMAL(18,${k}))::DOUBLE IS DISTINCT FROM value`)).getRowObjectsJS()[0].n;
    if (Number(bad) === 0) return k;
  }
  return null;
}

const keyExpr = (g: Variant['granularity']) =>
  g === 'day' ? `strftime(ts, '%Y-%m-%d')` : g === 'month' ? `strftime(ts, '%Y-%m')` : g === 'series' ? `sensor_id || chr(31) || metric` : `'all'`;

/** Loads the source rows (the compacted lake's live files) into table `src`. */
export async function loadSource(conn: DuckDBConnection, paths: string[]): Promise<number> {
  await conn.run('DROP TABLE IF EXISTS src');
  await conn.run(`CREATE TABLE src AS SELECT ${ALL_COLUMNS.join(', ')} FROM read_parquet(${sqlList(paths)}, hive_partitioning = false)`);
  return Number((await conn.runAndReadAll('SELECT count(*) AS n FROM src')).getRowObjectsJS()[0].n);
}

async function rowHash(conn: DuckDBConnection, from: string, columns: string[]): Promise<string> {
  const r = (await conn.runAndReadAll(`SELECT count(*) AS n, sum(hash(${columns.join(', ')})) AS h FROM ${from}`)).getRowObjectsJS()[0];
  return `${r.n}/${r.h}`;
}

export async function writeVariant(conn: DuckDBConnection, v: Variant, dir: string): Promise<VariantResult> {
  mkdirSync(dir, { recursive: true });
  const key = keyExpr(v.granularity);
  const keys = (await conn.runAndReadAll(`SELECT DISTINCT ${key} AS k FROM src ORDER BY k`)).getRowObjectsJS().map((r) => String(r.k));
  const stored = storedValue(v);
  const select = v.columns.map((c) => (c === 'value' ? `${stored} AS value` : c)).join(', ');
  const order = v.sort
    .split(',')
    .map((s) => s.trim())
    .filter((c) => v.columns.includes(c))
    .join(', ');
  const opts = `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${v.zstd}, ROW_GROUP_SIZE ${v.rowGroupSize}, PARQUET_VERSION ${v.version}`;
  const paths: string[] = [];
  const t0 = performance.now();
  for (const [i, k] of keys.entries()) {
    const path = join(dir, `${String(i).padStart(5, '0')}.parquet`);
    await conn.run(`COPY (SELECT ${select} FROM src WHERE ${key} = ${sqlString(k)} ORDER BY ${order}) TO ${sqlString(path)} (${opts})`);
    paths.push(path);
  }
  const writeMs = Math.round(performance.now() - t0);
  const size = await measureFiles(conn, paths);
  const reader = `read_parquet(${sqlList(paths)}, hive_partitioning = false)`;
  const srcCols = v.columns.map((c) => (c === 'value' ? stored : c));
  const identical = (await rowHash(conn, `(SELECT ${srcCols.map((c, i) => `${c} AS c${i}`).join(', ')} FROM src)`, srcCols.map((_, i) => `c${i}`))) ===
    (await rowHash(conn, `(SELECT ${v.columns.map((c, i) => `${c} AS c${i}`).join(', ')} FROM ${reader})`, v.columns.map((_, i) => `c${i}`)));
  const result: VariantResult = { variant: v, size, perReading: perReading(size), writeMs, duckdbRowsIdentical: identical, paths };
  if (stored !== 'value') {
    const e = (await conn.runAndReadAll(`SELECT max(abs(value - (${stored})::DOUBLE) / nullif(abs(value), 0)) AS e FROM src`)).getRowObjectsJS()[0].e;
    result.maxRelativeError = Number(e ?? 0);
  }
  return result;
}

/** Ratios of a figure to the published references. */
export function ratios(bytesPerReading: number): { toGorilla137: number; toInflux3: number } {
  return { toGorilla137: r3(bytesPerReading / 1.37), toInflux3: r3(bytesPerReading / 3) };
}
