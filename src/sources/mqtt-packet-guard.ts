/**
 * A size gate in front of the embedded broker's MQTT parser. mqtt-packet (inside Aedes) buffers a
 * packet until all of its declared "remaining length" has arrived, up to 256 MB, and it does so
 * before CONNECT is authenticated: one socket that claims a huge PUBLISH and keeps sending could
 * make the server hold hundreds of megabytes. This gate reads only the fixed header of each packet
 * as bytes pass through (nothing is buffered) and closes the connection as soon as a packet
 * declares more than `maxPacketBytes`, before its body is read.
 */
import { Duplex, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { Socket } from 'node:net';

export class PacketTooLargeError extends Error {
  constructor(
    readonly declaredBytes: number,
    readonly maxPacketBytes: number,
  ) {
    super(`MQTT packet declares ${declaredBytes} bytes; mqtt.maxPacketBytes allows ${maxPacketBytes}: connection closed`);
  }
}

/** Pass-through transform that tracks packet boundaries and fails on an oversized fixed header. */
export class PacketSizeGuard extends Transform {
  private state: 'header' | 'length' | 'body' = 'header';
  private declared = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(
    private readonly maxPacketBytes: number,
    /** Called once, before the stream fails, so the refusal is recorded before the socket closes. */
    private readonly onTooLarge: (err: PacketTooLargeError) => void = () => {},
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'header') {
        i++; // packet type and flags: the parser judges them
        this.state = 'length';
        this.declared = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const b = chunk[i++];
        this.declared += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (this.declared > this.maxPacketBytes) {
          const err = new PacketTooLargeError(this.declared, this.maxPacketBytes);
          this.onTooLarge(err);
          return done(err);
        }
        if (b & 0x80) {
          // A fifth length byte is malformed MQTT: hand it to the parser, which closes the connection.
          if (this.lengthBytes >= 4) return done(null, chunk);
          continue;
        }
        this.remaining = this.declared;
        this.state = this.remaining > 0 ? 'body' : 'header';
      } else {
        const take = Math.min(this.remaining, chunk.length - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'header';
      }
    }
    done(null, chunk);
  }
}

/**
 * The connection Aedes reads from and writes to: reads pass through a PacketSizeGuard, writes go
 * straight to the socket. `onTooLarge` is called once when the gate closes the connection.
 */
export function guardedConnection(socket: Socket, maxPacketBytes: number, onTooLarge: (err: PacketTooLargeError) => void): Duplex {
  const guard = new PacketSizeGuard(maxPacketBytes, onTooLarge);
  // On any failure (including the guard's) pipeline destroys both streams: the socket closes.
  pipeline(socket, guard, () => {});
  return Duplex.from({ readable: guard, writable: socket });
}
