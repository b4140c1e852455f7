/**
 * The read-only gate for analyst SQL on DuckDB (DESIGN §6).
 *
 * Three layers, none of them a regex:
 * 1. DuckDB's own parser splits the text (`extractStatements`): exactly one statement is allowed.
 * 2. The statement is prepared and DuckDB's statement type must be SELECT (this includes
 *    `FROM t`, `WITH … SELECT`, `DESCRIBE`, `SHOW`, `SUMMARIZE` and table-info PRAGMAs, which
 *    DuckDB rewrites to SELECTs). INSERT, CREATE, DROP, COPY, ATTACH, INSTALL/LOAD, SET, PRAGMA,
 *    CALL, EXPLAIN, transactions… are refused by name.
 * 3. The instance runs with `enable_external_access=false` and a locked configuration (see
 *    duckdb-open.ts), so a SELECT cannot reach files or the network through table functions
 *    (read_csv, glob, read_text, read_blob, read_parquet, …): DuckDB raises a Permission Error
 *    at bind time, which is reported as refused. The caller also runs the statement inside
 *    `BEGIN TRANSACTION READ ONLY`, so nothing a SELECT might call can write.
 */
import { StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { QueryError } from '../../core/sinks.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Maps a DuckDB error (parse, bind or run) to a QueryError an analyst can act on. */
export function queryErrorFrom(err: unknown): QueryError {
  if (err instanceof QueryError) return err;
  const msg = messageOf(err);
  if (/^Permission Error/.test(msg)) {
    return new QueryError(`refused: analyst SQL has no file or network access (${msg})`, 'refused');
  }
  if (/^TransactionContext Error: Cannot write/.test(msg)) {
    return new QueryError(`refused: analyst SQL is read-only (${msg})`, 'refused');
  }
  return new QueryError(msg, 'invalid');
}

/** Returns the prepared statement if `sql` is exactly one SELECT; throws QueryError otherwise. */
export async function prepareReadOnly(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  if (sql.trim() === '') throw new QueryError('no SQL statement given', 'invalid');
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    // The node binding reports a parse failure of comment-only text as "Error in native callback".
    const msg = messageOf(err);
    throw new QueryError(/native callback/.test(msg) ? 'no SQL statement given' : msg, 'invalid');
  }
  if (extracted.count === 0) throw new QueryError('no SQL statement given', 'invalid');
  if (extracted.count > 1) {
    throw new QueryError(`refused: exactly one statement is allowed, got ${extracted.count}`, 'refused');
  }
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await extracted.prepare(0);
  } catch (err) {
    throw queryErrorFrom(err);
  }
  const type = prepared.statementType;
  if (type !== StatementType.SELECT) {
    prepared.destroySync();
    const name = (StatementType[type] ?? `type ${type}`).replace(/_/g, ' ');
    throw new QueryError(`refused: only SELECT statements are allowed, this is a ${name} statement`, 'refused');
  }
  return prepared;
}
