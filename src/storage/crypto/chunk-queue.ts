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

  /** Up to `max` bytes from the front, as a view of the first piece. */
  private front(max: number): Buffer {
    const p = this.parts[0]!;
    const out = p.subarray(this.head, this.head + Math.min(max, p.length - this.head));
    this.head += out.length;
    this.length -= out.length;
    if (this.head === p.length) {
      this.parts.shift();
      this.head = 0;
    }
    return out;
  }

  /** Remove and return the first `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    if (n > this.length) throw new RangeError(`ChunkQueue.take(${n}) with ${this.length} queued`);
    if (n === 0) return Buffer.alloc(0);
    const first = this.front(n);
    // Common case: the first piece held it all; no copy.
    if (first.length === n) return first;
    const out = Buffer.allocUnsafe(n);
    first.copy(out, 0);
    for (let filled = first.length; filled < n; ) filled += this.front(n - filled).copy(out, filled);
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.length);
  }
}
