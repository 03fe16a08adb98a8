// Count and hash bytes on their way to a backend, so that put() can report
// what it stored without reading it back, and tell a failing source (the
// caller's problem) from a failing backend.
import { createHash } from 'node:crypto';
import type { PutBody } from './types.js';

export interface HashState {
  bytes: number;
  /** Set when the caller's body stream failed. */
  sourceError: unknown;
  sha256(): string;
}

/**
 * `consumed(bytes)` runs when the consumer asks for the next chunk, i.e. once
 * it is done with the previous one (a local write loop has written it).
 */
export function hashing(body: PutBody, consumed?: (bytes: number) => void): { source: AsyncGenerator<Buffer>; state: HashState } {
  const hash = createHash('sha256');
  let digest: string | undefined;
  const state: HashState = {
    bytes: 0,
    sourceError: undefined,
    sha256: () => (digest ??= hash.digest('hex')),
  };
  async function* source(): AsyncGenerator<Buffer> {
    const it = body[Symbol.asyncIterator]();
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        state.sourceError = e;
        throw e;
      }
      if (r.done) return;
      const buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      hash.update(buf);
      state.bytes += buf.length;
      yield buf;
      consumed?.(state.bytes);
    }
  }
  return { source: source(), state };
}
