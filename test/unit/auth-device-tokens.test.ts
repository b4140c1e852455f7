import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuthError, AuthStore } from '../../src/auth/auth-store.js';
import { tokenDigest } from '../../src/auth/secrets.js';
import { tempDir } from '../helpers/server.js';

test('device tokens name an existing device; removing the device removes its tokens', async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const auth = AuthStore.open(join(tmp.dir, 'auth.db'));
  t.after(() => auth.close());
  await auth.addDevice('gw-1', ['room-1']);
  const tok = auth.createToken('device', 'ingest', Date.now(), 'gw-1');
  assert.deepEqual(auth.tokenInfo(tok), { role: 'device', deviceId: 'gw-1' });
  assert.deepEqual(auth.tokenInfo(auth.createToken('analyst')), { role: 'analyst', deviceId: null });
  assert.equal(auth.tokenInfo('spt_unknown'), null);
  assert.throws(() => auth.createToken('device', null, Date.now(), 'nope'), (e: Error) => e instanceof AuthError && /no device "nope"/.test(e.message));
  assert.throws(() => auth.createToken('admin', null, Date.now(), 'gw-1'), /only tokens with role device/);
  auth.removeDevice('gw-1');
  assert.equal(auth.tokenInfo(tok), null);
});

test('an auth.db from before device tokens gets the column, and its tokens keep working', (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const path = join(tmp.dir, 'auth.db');
  const old = new Database(path);
  old.exec(`CREATE TABLE tokens (digest TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT, created_at INTEGER NOT NULL);`);
  old.prepare('INSERT INTO tokens VALUES (?, ?, ?, ?)').run(tokenDigest('spt_old-token'), 'device', 'legacy', 1);
  old.close();
  const a = AuthStore.open(path);
  assert.deepEqual(a.tokenInfo('spt_old-token'), { role: 'device', deviceId: null }); // refused by HTTP ingest (403)
  assert.equal(a.roleOf('spt_old-token'), 'device');
  const tok = a.createToken('admin');
  a.close();
  const b = AuthStore.open(path); // opening again: the column is already there
  t.after(() => b.close());
  assert.deepEqual(b.tokenInfo(tok), { role: 'admin', deviceId: null });
});
