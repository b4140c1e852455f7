/**
 * Reads a SQLite WAL file the way SQLite's recovery does (https://www.sqlite.org/fileformat.html,
 * "WAL file format"): frames count only while their salts match the header and the running
 * checksum holds; the database state is the one at the last valid commit frame.
 */
export interface WalScan {
  pageSize: number;
  /** Byte offset just past each valid commit frame, in order. */
  commitEnds: number[];
}

const HEADER = 32;
const FRAME_HEADER = 24;

export function scanWal(wal: Buffer): WalScan {
  if (wal.length < HEADER) return { pageSize: 0, commitEnds: [] };
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) throw new Error(`not a WAL file (magic ${magic.toString(16)})`);
  const bigEndian = (magic & 1) === 1;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let sum = checksum(wal, 0, 24, [0, 0], bigEndian);
  if (sum[0] !== wal.readUInt32BE(24) || sum[1] !== wal.readUInt32BE(28)) return { pageSize, commitEnds: [] };
  const commitEnds: number[] = [];
  for (let at = HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    sum = checksum(wal, at, at + 8, sum, bigEndian);
    sum = checksum(wal, at + FRAME_HEADER, at + FRAME_HEADER + pageSize, sum, bigEndian);
    if (sum[0] !== wal.readUInt32BE(at + 16) || sum[1] !== wal.readUInt32BE(at + 20)) break;
    if (wal.readUInt32BE(at + 4) !== 0) commitEnds.push(at + FRAME_HEADER + pageSize);
  }
  return { pageSize, commitEnds };
}

function checksum(buf: Buffer, start: number, end: number, [s0, s1]: number[], bigEndian: boolean): [number, number] {
  for (let i = start; i < end; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}
