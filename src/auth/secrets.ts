import { randomBytes, scrypt, timingSafeEqual, createHash } from 'node:crypto';

// Device secrets and API tokens are generated here with 256 bits of entropy, so a moderate
// scrypt cost is plenty and keeps a reconnect storm of thousands of devices cheap.
const SCRYPT = { N: 1 << 12, r: 8, p: 1 };
const KEYLEN = 32;

export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt);
  return `scrypt$${SCRYPT.N}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [kind, n, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || Number(n) !== SCRYPT.N || !salt || !key) return false;
  const actual = await derive(secret, Buffer.from(salt, 'base64url'));
  const expected = Buffer.from(key, 'base64url');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

function derive(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEYLEN, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Tokens are looked up by a fast hash (they are random, 256-bit); the hash is all that is stored. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
