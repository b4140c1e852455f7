import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isValidId } from '../core/ids.js';
import { hashSecret, newSecret, tokenDigest, verifySecret } from './secrets.js';

export type Role = 'admin' | 'analyst' | 'scientist' | 'device';
export const ROLES: Role[] = ['admin', 'analyst', 'scientist', 'device'];

export interface DeviceRecord {
  deviceId: string;
  sensors: string[];
  createdAt: number;
}

export class AuthError extends Error {}

/**
 * Devices and API tokens, in a small SQLite file (`<dataDir>/auth.db`) that the CLI and a
 * running server share safely (WAL), so `sensorpipe devices add` works while the server runs.
 * Only salted hashes of device secrets and digests of tokens are stored.
 */
export class AuthStore {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string): AuthStore {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS devices (
        device_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, sensors TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS tokens (
        digest TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT, created_at INTEGER NOT NULL);`);
    // Device tokens (HTTP ingest) name their device; files from before this column get it added.
    const cols = db.prepare('PRAGMA table_info(tokens)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'device_id')) {
      try {
        db.exec('ALTER TABLE tokens ADD COLUMN device_id TEXT');
      } catch (err) {
        // Another process (CLI and server share the file) added it first.
        if (!/duplicate column/i.test((err as Error).message)) throw err;
      }
    }
    return new AuthStore(db);
  }

  /** Creates (or re-keys) a device and returns its secret; the secret is not stored and cannot be shown again. */
  async addDevice(deviceId: string, sensors: string[] = [deviceId], opts: { secret?: string; now?: number } = {}): Promise<string> {
    const now = opts.now ?? Date.now();
    if (!isValidId(deviceId)) throw new AuthError(`device id "${deviceId}" is not valid: use letters, digits and . _ : - (max 128, starting with a letter or digit)`);
    const bad = sensors.filter((s) => !isValidId(s));
    if (bad.length) throw new AuthError(`sensor id(s) not valid: ${bad.join(', ')}`);
    // A caller-chosen secret is for provisioning tools and tests; the CLI always generates one.
    const secret = opts.secret ?? newSecret('');
    if (secret.length < 16) throw new AuthError('a device secret must have at least 16 characters');
    const hash = await hashSecret(secret);
    this.db
      .prepare(
        `INSERT INTO devices(device_id, secret_hash, sensors, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET secret_hash = excluded.secret_hash, sensors = excluded.sensors`,
      )
      .run(deviceId, hash, JSON.stringify(sensors), now);
    return secret;
  }

  /** Deletes a device and the API tokens tied to it. */
  removeDevice(deviceId: string): boolean {
    this.db.prepare('DELETE FROM tokens WHERE device_id = ?').run(deviceId);
    return this.db.prepare('DELETE FROM devices WHERE device_id = ?').run(deviceId).changes > 0;
  }

  getDevice(deviceId: string): DeviceRecord | undefined {
    const row = this.db.prepare('SELECT device_id, sensors, created_at FROM devices WHERE device_id = ?').get(deviceId) as
      | { device_id: string; sensors: string; created_at: number }
      | undefined;
    return row && { deviceId: row.device_id, sensors: JSON.parse(row.sensors) as string[], createdAt: row.created_at };
  }

  listDevices(): DeviceRecord[] {
    const rows = this.db.prepare('SELECT device_id, sensors, created_at FROM devices ORDER BY device_id').all() as {
      device_id: string;
      sensors: string;
      created_at: number;
    }[];
    return rows.map((r) => ({ deviceId: r.device_id, sensors: JSON.parse(r.sensors) as string[], createdAt: r.created_at }));
  }

  /** The device when the secret matches, else null. */
  async authenticateDevice(deviceId: string, secret: string): Promise<DeviceRecord | null> {
    const row = this.db.prepare('SELECT secret_hash FROM devices WHERE device_id = ?').get(deviceId) as
      | { secret_hash: string }
      | undefined;
    if (!row || !(await verifySecret(secret, row.secret_hash))) return null;
    return this.getDevice(deviceId) ?? null;
  }

  /**
   * Creates an API token and returns it (only its digest is stored). A device token should name its
   * device (`deviceId`): HTTP ingest then lets it write that device's sensors only, and refuses
   * device tokens without one.
   */
  createToken(role: Role, name: string | null = null, now = Date.now(), deviceId: string | null = null): string {
    if (!ROLES.includes(role)) throw new AuthError(`role must be one of ${ROLES.join(', ')}`);
    if (deviceId !== null) {
      if (role !== 'device') throw new AuthError('only tokens with role device can be tied to a device');
      if (!this.getDevice(deviceId)) throw new AuthError(`no device "${deviceId}"; add it first with \`sensorpipe devices add ${deviceId}\``);
    }
    const token = newSecret('spt_');
    this.db
      .prepare('INSERT INTO tokens(digest, role, name, created_at, device_id) VALUES (?, ?, ?, ?, ?)')
      .run(tokenDigest(token), role, name, now, deviceId);
    return token;
  }

  /** Removes tokens by name (the per-start local CLI token of a previous run). */
  revokeTokensNamed(name: string): number {
    return this.db.prepare('DELETE FROM tokens WHERE name = ?').run(name).changes;
  }

  revokeToken(token: string): boolean {
    return this.db.prepare('DELETE FROM tokens WHERE digest = ?').run(tokenDigest(token)).changes > 0;
  }

  /** Role and, for device tokens tied to a device, its id; null for an unknown token. */
  tokenInfo(token: string): { role: Role; deviceId: string | null } | null {
    const row = this.db.prepare('SELECT role, device_id FROM tokens WHERE digest = ?').get(tokenDigest(token)) as
      | { role: Role; device_id: string | null }
      | undefined;
    return row ? { role: row.role, deviceId: row.device_id } : null;
  }

  roleOf(token: string): Role | null {
    const row = this.db.prepare('SELECT role FROM tokens WHERE digest = ?').get(tokenDigest(token)) as { role: Role } | undefined;
    return row?.role ?? null;
  }

  close(): void {
    this.db.close();
  }
}
