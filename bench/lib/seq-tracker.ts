/**
 * Which (sensor, seq) pairs arrived, for targets that keep no warehouse (the ceilings, Node-RED's file):
 * one growable bitmap per sensor, so a duplicate counts once and a gap shows as missing.
 */
export class SeqTracker {
  private readonly seen = new Map<string, Uint8Array>();
  private distinct = 0;

  add(sensor: string, seq: number): void {
    if (!Number.isInteger(seq) || seq < 1) return;
    let bits = this.seen.get(sensor);
    if (!bits || bits.length * 8 <= seq) {
      const grown = new Uint8Array(Math.max(64, (bits?.length ?? 0) * 2, (seq >> 3) + 1));
      if (bits) grown.set(bits);
      bits = grown;
      this.seen.set(sensor, bits);
    }
    const mask = 1 << (seq & 7);
    if ((bits[seq >> 3] & mask) === 0) {
      bits[seq >> 3] |= mask;
      this.distinct++;
    }
  }

  /** Distinct (sensor, seq) pairs seen. */
  count(): number {
    return this.distinct;
  }
}
