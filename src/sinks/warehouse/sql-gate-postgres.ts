/**
 * The read-only gate for analyst SQL on PostgreSQL (DESIGN §6). Layers, none of them a regex:
 * 1. PostgreSQL's own parser (libpg-query, the server's grammar compiled to WebAssembly) splits
 *    the text: exactly one statement, and it must be a plain SELECT (this includes `WITH … SELECT`,
 *    `VALUES`, `TABLE t`); `SELECT … INTO` (creates a table) and `FOR UPDATE/SHARE` are refused,
 *    as is every other statement type (INSERT, COPY, SET, CREATE, DO, CALL…), by name.
 * 2. Calls to the functions that reach the server's files or other sessions, or run SQL given as
 *    text (pg_read_file, pg_ls_dir, lo_import, dblink, query_to_xml, set_config, …) are refused.
 *    This is defence in depth: the server enforces the same for any role that is not a
 *    superuser, which is why docs/postgres.md tells operators not to run Sensorpipe as one.
 * 3. The caller runs the statement as `DECLARE … CURSOR FOR <sql>` inside
 *    `BEGIN TRANSACTION READ ONLY` with `SET LOCAL statement_timeout`: the server re-parses it as
 *    a query (a cursor accepts nothing else), refuses any write (SQLSTATE 25006), stops it at the
 *    time limit (57014), and `FETCH n+1` computes no more rows than the cap needs.
 */
import { parse } from 'libpg-query';
import { QueryError } from '../../core/sinks.js';

/** Functions an analyst query may not call (server files, large objects, other sessions, settings, SQL given as text). */
const REFUSED_FUNCTIONS = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir',
  'pg_ls_replslotdir',
  'lo_import',
  'lo_export',
  'lo_from_bytea',
  'lo_put',
  'lo_unlink',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_logdir_ls',
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'dblink_connect_u',
  'dblink_send_query',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'set_config',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
]);

type Node = unknown;

/** Names of every function called anywhere in a parse tree. */
function calledFunctions(node: Node, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const n of node) calledFunctions(n, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'FuncCall') {
        const parts = ((value as { funcname?: { String?: { sval?: string } }[] }).funcname ?? []).map((p) => p.String?.sval ?? '');
        out.push(parts[parts.length - 1]?.toLowerCase() ?? '');
      }
      calledFunctions(value, out);
    }
  }
  return out;
}

const WRITE_STATEMENTS = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

function containsKey(node: Node, keys: Set<string>): boolean {
  if (Array.isArray(node)) return node.some((n) => containsKey(n, keys));
  if (node === null || typeof node !== 'object') return false;
  return Object.entries(node).some(([k, v]) => keys.has(k) || containsKey(v, keys));
}

/** Statement type as the parser names it, made readable: InsertStmt -> INSERT, VariableSetStmt -> SET. */
function statementName(type: string): string {
  const known: Record<string, string> = { VariableSetStmt: 'SET', VariableShowStmt: 'SHOW', TransactionStmt: 'TRANSACTION', CopyStmt: 'COPY', DoStmt: 'DO', CallStmt: 'CALL', ExplainStmt: 'EXPLAIN' };
  if (known[type]) return known[type];
  return type
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/**
 * Checks that `sql` is exactly one plain SELECT an analyst may run. Throws QueryError:
 * 'invalid' for a syntax error or empty text, 'refused' for anything else not allowed.
 */
export async function checkReadOnlyPg(sql: string): Promise<void> {
  if (sql.trim() === '') throw new QueryError('no SQL statement given', 'invalid');
  let tree: { stmts?: { stmt: Record<string, Record<string, unknown>> }[] };
  try {
    tree = (await parse(sql)) as typeof tree;
  } catch (err) {
    throw new QueryError(err instanceof Error ? err.message : String(err), 'invalid');
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) throw new QueryError('no SQL statement given', 'invalid');
  if (stmts.length > 1) throw new QueryError(`refused: exactly one statement is allowed, got ${stmts.length}`, 'refused');
  const [type, body] = Object.entries(stmts[0].stmt)[0];
  if (type !== 'SelectStmt') {
    throw new QueryError(`refused: only SELECT statements are allowed, this is a ${statementName(type)} statement`, 'refused');
  }
  if (body.intoClause) throw new QueryError('refused: SELECT … INTO creates a table; analyst SQL is read-only', 'refused');
  if (body.lockingClause) throw new QueryError('refused: SELECT … FOR UPDATE/SHARE locks rows; analyst SQL is read-only', 'refused');
  if (containsKey(body, WRITE_STATEMENTS)) {
    throw new QueryError('refused: analyst SQL is read-only (a data-modifying statement inside WITH)', 'refused');
  }
  const bad = [...new Set(calledFunctions(body).filter((f) => REFUSED_FUNCTIONS.has(f)))];
  if (bad.length > 0) {
    throw new QueryError(`refused: analyst SQL has no file, session or settings access (${bad.join(', ')})`, 'refused');
  }
}

/** Maps a server error of an analyst query to a QueryError an analyst can act on. */
export function queryErrorFromPg(err: unknown, timeoutMs: number): QueryError {
  if (err instanceof QueryError) return err;
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  if (e.code === '57014') return new QueryError(`query stopped: it ran longer than the ${timeoutMs} ms limit`, 'timeout');
  if (e.code === '25006') return new QueryError(`refused: analyst SQL is read-only (${msg})`, 'refused');
  if (e.code === '42501') return new QueryError(`refused: ${msg}`, 'refused');
  return new QueryError(msg, 'invalid');
}
