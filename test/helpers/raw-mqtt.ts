// MQTT 3.1.1 packets written by hand on a raw TCP socket: what a hostile or broken client sends,
// which a well-behaved client library refuses to produce (wildcards or NUL in PUBLISH topics,
// a declared length of 256 MB, a CONNECT cut in half).
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** CONNECT, clean session, keepalive 60 s, optional username/password. */
export function connectPacket(clientId: string, auth?: { username: string; password: string }): Buffer {
  const flags = 0x02 | (auth ? 0xc0 : 0);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags, 0, 60]),
    str(clientId),
    ...(auth ? [str(auth.username), str(auth.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/** The fixed header and variable header of a QoS 1 PUBLISH whose payload is `payloadBytes` long (payload not included). */
export function publishHead(topic: string | Buffer, payloadBytes: number, messageId = 1): Buffer {
  const t = str(topic);
  const id = Buffer.from([messageId >> 8, messageId & 0xff]);
  return Buffer.concat([Buffer.from([0x32]), varint(t.length + 2 + payloadBytes), t, id]);
}

export interface RawClient {
  socket: Socket;
  /** Resolves when the server closes (or resets) the connection. */
  closed: Promise<void>;
  /** Every byte the server sent. */
  received(): Buffer;
}

export async function rawConnect(port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {}); // a reset is one way of being closed
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed, received: () => Buffer.concat(chunks) };
}

/** Connects and waits for CONNACK; throws when the broker refuses. */
export async function rawSession(port: number, clientId: string, auth?: { username: string; password: string }): Promise<RawClient> {
  const c = await rawConnect(port);
  c.socket.write(connectPacket(clientId, auth));
  const deadline = Date.now() + 10_000;
  while (c.received().length < 4) {
    if (Date.now() > deadline || c.socket.destroyed) throw new Error(`no CONNACK for ${clientId}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const ack = c.received();
  if (ack[0] !== 0x20 || ack[3] !== 0) throw new Error(`CONNACK refused for ${clientId}: return code ${ack[3]}`);
  return c;
}

/**
 * Writes `total` bytes of filler in 64 KiB chunks, respecting backpressure, until all are written
 * or the server closed the connection. Returns the bytes written before it stopped.
 */
export async function streamFiller(c: RawClient, total: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let written = 0;
  let closed = false;
  void c.closed.then(() => (closed = true));
  while (written < total && !closed && !c.socket.destroyed) {
    const n = Math.min(chunk.length, total - written);
    const ok = c.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    written += n;
    if (!ok) await Promise.race([once(c.socket, 'drain').catch(() => {}), c.closed]);
  }
  return written;
}
