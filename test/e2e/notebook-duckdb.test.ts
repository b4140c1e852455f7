/**
 * docs/notebook-duckdb.md stays runnable: step 1's shell commands are run as written (the CLI, on the
 * real UCI Air Quality file), then every ```sql block of the page runs in order in one plain DuckDB
 * session whose relative paths resolve in that directory, and each must return rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { dataDir } from '../helpers/quality-data.js';
import { tempDir } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PAGE = readFileSync(join(ROOT, 'docs/notebook-duckdb.md'), 'utf8');

function blocks(lang: string): string[] {
  return [...PAGE.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** The shell block's commands (continuation lines joined), with paths made absolute for the test. */
function shellCommands(dir: string): string[][] {
  const text = blocks('sh')[0].replace(/\\\n\s*/g, '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('sensorpipe '))
    .map((l) =>
      l
        .replace('../shared/data/', `${dataDir()}/`)
        .replace('examples/', `${ROOT}/examples/`)
        .split(/\s+/)
        .slice(1)
        .map((a) => (a === 'data' ? join(dir, 'data') : a.endsWith('.parquet') ? join(dir, a) : a)),
    );
}

test('docs/notebook-duckdb.md: the commands and every SQL block run as written', async () => {
  const { dir, cleanup } = tempDir('sensorpipe-notebook-');
  try {
    const cmds = shellCommands(dir);
    assert.equal(cmds.length, 3, 'import, export readings, export features');
    for (const args of cmds) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `sensorpipe ${args.join(' ')}\n${r.stderr}`);
    }
    const sql = blocks('sql');
    assert.ok(sql.length >= 7, `found ${sql.length} SQL blocks`);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run(`SET file_search_path = '${dir.replaceAll("'", "''")}'`);
      for (const block of sql) {
        const reader = await conn.runAndReadAll(block);
        assert.ok(reader.getRowObjects().length > 0, `no rows from:\n${block}`);
      }
      // The manifest query answers what the page says about the example.
      const m = (await conn.runAndReadAll(sql.find((b) => b.includes('manifest.json'))!)).getRowObjectsJson()[0];
      assert.equal(m.pointInTimeCorrect, true);
      assert.equal(Number(m.rows), 744);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  } finally {
    cleanup();
  }
});
