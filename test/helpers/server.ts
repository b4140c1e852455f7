import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config } from '../../src/config/schema.js';
import { Sensorpipe } from '../../src/runtime/sensorpipe.js';
import { silentLogger } from '../../src/core/types.js';

export function tempDir(prefix = 'sensorpipe-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A test config: ephemeral ports, a temp data dir, quick writer flushes. */
export function testConfig(dataDir: string, over: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    dataDir,
    logLevel: 'silent',
    mqtt: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    writer: { batchMaxRecords: 2000, flushIntervalMs: 50 },
    ...over,
  });
}

export async function startServer(dataDir: string, over: Record<string, unknown> = {}): Promise<Sensorpipe> {
  return Sensorpipe.start(testConfig(dataDir, over), { logger: silentLogger });
}

/** Every row of a query, without the analyst row cap. */
export async function rows<T = Record<string, unknown>>(sp: Sensorpipe, sql: string): Promise<T[]> {
  const r = await sp.warehouse.query(sql, { maxRows: 10_000_000, timeoutMs: 60_000 });
  return r.rows as T[];
}
