/**
 * Writes an export table to a file, row batches at a time, without holding the table in memory:
 * CSV is streamed to disk; Parquet rows are appended to a scratch DuckDB database on disk (a
 * private instance, so the hardened warehouse is not involved) and COPYed to zstd Parquet at the
 * end. Both write `<out>.partial` and rename it, so a reader never sees half a file.
 */
import { createWriteStream, mkdtempSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';

export type ExportFormat = 'parquet' | 'csv';
export type ExportColumnType = 'VARCHAR' | 'TIMESTAMP' | 'DOUBLE' | 'BIGINT' | 'BOOLEAN';
export interface ExportColumn {
  name: string;
  type: ExportColumnType;
}

export interface TableFile {
  append(rows: Record<string, unknown>[]): Promise<void>;
  /** Finishes the file; returns its size. */
  close(): Promise<{ rows: number; bytes: number }>;
  /** Removes the partial file (after an error). */
  abort(): Promise<void>;
}

export async function openTableFile(out: string, format: ExportFormat, columns: ExportColumn[]): Promise<TableFile> {
  return format === 'csv' ? new CsvFile(out, columns) : ParquetFile.open(out, columns);
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

class CsvFile implements TableFile {
  private readonly stream: WriteStream;
  private rows = 0;
  constructor(
    private readonly out: string,
    private readonly columns: ExportColumn[],
  ) {
    this.stream = createWriteStream(out + '.partial');
    this.stream.write(columns.map((c) => csvCell(c.name)).join(',') + '\r\n');
  }

  async append(rows: Record<string, unknown>[]): Promise<void> {
    let chunk = '';
    for (const r of rows) chunk += this.columns.map((c) => csvCell(r[c.name])).join(',') + '\r\n';
    this.rows += rows.length;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<{ rows: number; bytes: number }> {
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    renameSync(this.out + '.partial', this.out);
    return { rows: this.rows, bytes: statSync(this.out).size };
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    rmSync(this.out + '.partial', { force: true });
  }
}

class ParquetFile implements TableFile {
  private rows = 0;
  private constructor(
    private readonly out: string,
    private readonly columns: ExportColumn[],
    private readonly dir: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly appender: DuckDBAppender,
  ) {}

  static async open(out: string, columns: ExportColumn[]): Promise<ParquetFile> {
    const dir = mkdtempSync(join(tmpdir(), 'sensorpipe-export-'));
    const instance = await DuckDBInstance.create(join(dir, 'scratch.duckdb'), { threads: '2' });
    const conn = await instance.connect();
    await conn.run(`CREATE TABLE t (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
    return new ParquetFile(out, columns, dir, instance, conn, await conn.createAppender('t'));
  }

  async append(rows: Record<string, unknown>[]): Promise<void> {
    const a = this.appender;
    for (const r of rows) {
      for (const c of this.columns) {
        const v = r[c.name];
        if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) a.appendNull();
        else if (c.type === 'VARCHAR') a.appendVarchar(String(v));
        else if (c.type === 'DOUBLE') a.appendDouble(Number(v));
        else if (c.type === 'BIGINT') a.appendBigInt(BigInt(Math.trunc(Number(v))));
        else if (c.type === 'BOOLEAN') a.appendBoolean(Boolean(v));
        else a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round((typeof v === 'number' ? v : Date.parse(String(v))) * 1000))));
      }
      a.endRow();
    }
    this.rows += rows.length;
    a.flushSync();
  }

  async close(): Promise<{ rows: number; bytes: number }> {
    try {
      this.appender.closeSync();
      const partial = this.out + '.partial';
      await this.conn.run(`COPY t TO '${partial.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
      renameSync(partial, this.out);
      return { rows: this.rows, bytes: statSync(this.out).size };
    } finally {
      this.release();
    }
  }

  async abort(): Promise<void> {
    try {
      this.appender.closeSync();
    } catch {
      /* already closed */
    }
    this.release();
    rmSync(this.out + '.partial', { force: true });
  }

  private release(): void {
    this.conn.closeSync();
    this.instance.closeSync();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const q = (n: string) => `"${n.replaceAll('"', '""')}"`;
