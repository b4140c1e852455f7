import { createHash } from 'node:crypto';
import type { SpoolEntry } from '../../src/core/types.js';

/**
 * Deterministic spool entries for the crash test: the child appends entriesFor(id), the parent
 * rebuilds the same entries from the id to check what it reads back byte for byte. Every entry
 * carries `<id>:<k>` as its deviceId, so even a record that was never acknowledged can be
 * checked against what it must contain.
 */
export function entriesFor(id: string): SpoolEntry[] {
  const seed = createHash('sha256').update(id).digest();
  const count = 1 + (seed[0] % 3);
  return Array.from({ length: count }, (_, k) => entryFor(id, k, seed));
}

export function keyOf(entry: SpoolEntry): { id: string; k: number } {
  const key = entry.kind === 'message' ? entry.message.deviceId : entry.deviceId;
  const at = key!.lastIndexOf(':');
  return { id: key!.slice(0, at), k: Number(key!.slice(at + 1)) };
}

function entryFor(id: string, k: number, seed: Buffer): SpoolEntry {
  const receivedAt = 1_700_000_000_000 + seed.readUInt32BE(4);
  const deviceId = `${id}:${k}`;
  if ((seed[1] + k) % 5 === 0) {
    return { kind: 'rejected', source: 'mqtt', topic: `sensors/${id}/telemetry`, deviceId, receivedAt, reason: 'not_authorized', detail: `entry ${deviceId}` };
  }
  // Mostly small payloads, some spilling over several pages so that deletes free real space.
  const length = seed[2] % 4 === 0 ? 6_000 + seed.readUInt16BE(8) % 20_000 : seed.readUInt16BE(10) % 500;
  const payload = Buffer.alloc(length);
  let x = seed.readUInt32BE(12) ^ (k * 0x9e3779b9);
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    payload[i] = x >>> 24; // arbitrary bytes: invalid UTF-8 included
  }
  return {
    kind: 'message',
    message: { source: 'mqtt', topic: `sensors/${id}/telemetry`, deviceId, receivedAt, payload },
    readings: [{ sensorId: id, metric: 'temperature', ts: receivedAt, value: seed.readInt16BE(14) / 10, seq: k }],
    quarantined: [],
  };
}
