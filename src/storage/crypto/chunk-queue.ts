// Bytes arriving in arbitrary pieces, taken out in fixed-size chunks without
// re-copying the whole backlog on every write.
export class ChunkQueue {
  private parts: Buffer[] = [];
  private head = 0; // offset into parts[0]
  length = 0;

  push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.parts.push(buf);
    this.length += buf.length;
  }

  /** Remove and return the first `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    if (n > this.length) throw new RangeError(`ChunkQueue.take(${n}) with ${this.length} queued`);
    const first = this.parts[0];
    if (first && first.length - this.head >= n) {
      // Common case: the first piece holds it all; no copy.
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.parts.shift();
        this.head = 0;
      }
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const p = this.parts[0]!;
      const k = Math.min(n - filled, p.length - this.head);
      p.copy(out, filled, this.head, this.head + k);
      filled += k;
      this.head += k;
      if (this.head === p.length) {
        this.parts.shift();
        this.head = 0;
      }
    }
    this.length -= n;
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.length);
  }
}
