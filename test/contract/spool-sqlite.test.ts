// The spool contract against the SQLite spool (one file per data dir).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSpool } from '../../src/pipeline/spool/sqlite-spool.js';
import { spoolContract } from './spool.contract.js';

const root = mkdtempSync(join(tmpdir(), 'sensorpipe-spool-contract-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

spoolContract({
  name: 'SQLite spool',
  open: (key, maxBytes) => SqliteSpool.open({ dir: join(root, key), maxBytes }),
  destroy: async (key) => rmSync(join(root, key), { recursive: true, force: true }),
});
