/**
 * GET /v1/catalog: datasets (warehouse tables and views, lake prefixes, exports) with columns (types
 * from the engine, descriptions from ../catalog-descriptions.ts), row counts (tables), freshness
 * (max of ts / bucket / received_at, whichever the dataset has) and lineage.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { liveOf, readManifest } from '../../sinks/lake/manifest.js';
import { FsLakeStore } from '../../sinks/lake/store.js';
import type { HttpAppDeps } from '../http-app.js';
import { requireRole } from '../auth-hook.js';
import { DATASET_DOCS, LINEAGE } from '../catalog-descriptions.js';
import { authResponses, rolesFor, rolesNote, securityFor } from '../route-roles.js';

const LAKE_PREFIXES = ['raw', 'quarantine', 'aggregates'];
/** Data sets whose files the lake manifest governs (compaction, archive): only live files count. */
const MANIFEST_PREFIXES = new Set(['raw', 'quarantine', 'archive/raw', 'archive/quarantine']);
const MAX_FILES_WALKED = 100_000;

function walk(dir: string, acc: { files: number; bytes: number; newest: number }): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (acc.files >= MAX_FILES_WALKED) return;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, acc);
    else if (e.isFile() && e.name.endsWith('.parquet')) {
      const st = statSync(p);
      acc.files++;
      acc.bytes += st.size;
      acc.newest = Math.max(acc.newest, st.mtimeMs);
    }
  }
}

export function catalogRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  const q = (sql: string) => deps.warehouse.query(sql, { maxRows: 100_000, timeoutMs: Math.max(deps.sql.timeoutMs, 30_000) });
  app.get(
    '/v1/catalog',
    {
      preHandler: requireRole(deps.auth, rolesFor('GET', '/v1/catalog')),
      schema: {
        summary: 'Data catalog: datasets, columns, row counts, freshness, lineage',
        description: rolesNote('GET', '/v1/catalog'),
        tags: ['catalog'],
        security: securityFor('GET', '/v1/catalog'),
        response: {
          200: {
            type: 'object',
            properties: {
              datasets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    kind: { type: 'string', enum: ['table', 'view', 'lake', 'export'] },
                    description: { type: 'string', nullable: true },
                    rows: { type: 'integer', nullable: true },
                    freshness: {
                      type: 'object',
                      nullable: true,
                      properties: { max_ts: { type: 'string', nullable: true }, max_received_at: { type: 'string', nullable: true }, newest_file: { type: 'string', nullable: true } },
                    },
                    files: { type: 'integer', nullable: true },
                    bytes: { type: 'integer', nullable: true },
                    columns: {
                      type: 'array',
                      items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' }, description: { type: 'string', nullable: true } } },
                    },
                  },
                },
              },
              lineage: { type: 'array', items: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' }, via: { type: 'string' } } } },
            },
          },
          ...authResponses(),
        },
      },
    },
    async () => {
      const cols = await q(
        `SELECT c.table_name, t.table_type, c.column_name, c.data_type FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
         WHERE c.table_schema = current_schema() ORDER BY c.table_name, c.ordinal_position`,
      );
      const byTable = new Map<string, { kind: 'table' | 'view'; columns: { name: string; type: string }[] }>();
      for (const r of cols.rows) {
        const name = String(r.table_name);
        let t = byTable.get(name);
        if (!t) byTable.set(name, (t = { kind: String(r.table_type) === 'VIEW' ? 'view' : 'table', columns: [] }));
        t.columns.push({ name: String(r.column_name), type: String(r.data_type) });
      }
      const datasets: Record<string, unknown>[] = [];
      for (const [name, t] of byTable) {
        const doc = DATASET_DOCS[name];
        const has = (c: string) => t.columns.some((x) => x.name === c);
        let rows: number | null = null;
        let freshness: Record<string, unknown> | null = null;
        if (t.kind === 'table') {
          // Names come from the engine's own catalogue and are quoted.
          const tsCol = has('ts') ? 'ts' : has('bucket') ? 'bucket' : null;
          const parts = ['count(*) AS n'];
          if (tsCol) parts.push(`max("${tsCol}") AS max_ts`);
          if (has('received_at')) parts.push('max(received_at) AS max_rx');
          const r = (await q(`SELECT ${parts.join(', ')} FROM "${name.replaceAll('"', '""')}"`)).rows[0] ?? {};
          rows = Number(r.n);
          if (tsCol || has('received_at')) freshness = { max_ts: (r.max_ts as string | undefined) ?? null, max_received_at: (r.max_rx as string | undefined) ?? null, newest_file: null };
        }
        datasets.push({
          name,
          kind: t.kind,
          description: doc?.description ?? null,
          rows,
          freshness,
          files: null,
          bytes: null,
          columns: t.columns.map((c) => ({ ...c, description: doc?.columns?.[c.name] ?? null })),
        });
      }
      const store = deps.lakeStore ?? (deps.lakeDir ? new FsLakeStore(deps.lakeDir) : null);
      const manifest = store ? await readManifest(store) : null;
      for (const prefix of [...LAKE_PREFIXES, 'archive/raw', 'archive/quarantine']) {
        const acc = { files: 0, bytes: 0, newest: 0 };
        if (store && manifest && MANIFEST_PREFIXES.has(prefix)) {
          // Files replaced by compaction or archiving stay a while for running readers; they are not data any more.
          const info = await store.listInfo(prefix);
          const live = new Set(liveOf(manifest, info.map((f) => f.relPath).filter((p) => p.endsWith('.parquet')), prefix));
          for (const f of info) {
            if (!live.has(f.relPath)) continue;
            acc.files++;
            acc.bytes += f.bytes;
            acc.newest = Math.max(acc.newest, f.modifiedMs);
          }
        } else if (deps.lakeDir) walk(join(deps.lakeDir, prefix), acc);
        datasets.push({
          name: `lake:${prefix}`,
          kind: 'lake',
          description: DATASET_DOCS[`lake:${prefix}`]?.description ?? null,
          rows: null,
          freshness: { max_ts: null, max_received_at: null, newest_file: acc.newest ? new Date(acc.newest).toISOString() : null },
          files: acc.files,
          bytes: acc.bytes,
          columns: [],
        });
      }
      datasets.push({ name: 'export:readings', kind: 'export', description: DATASET_DOCS['export:readings']!.description, rows: null, freshness: null, files: null, bytes: null, columns: [] });
      return { datasets, lineage: LINEAGE };
    },
  );
}
