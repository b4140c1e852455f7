import { join, resolve } from 'node:path';

/** Where everything lives under the data directory. */
export function dataPaths(dataDir: string) {
  const root = resolve(dataDir);
  return {
    root,
    spool: join(root, 'spool'),
    warehouse: join(root, 'warehouse.duckdb'),
    lake: join(root, 'lake'),
    auth: join(root, 'auth.db'),
    /** Written while a server runs: its URL and pid, so the CLI can find it. */
    serverInfo: join(root, 'server.json'),
    /** An admin token for local CLI use, renewed at every start, readable only by the owner (like a cookie file). */
    localToken: join(root, 'local-admin.token'),
  };
}
