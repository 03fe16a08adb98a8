// age payload encryption as Node Transforms: STREAM over ChaCha20-Poly1305
// with 64 KiB plaintext chunks, a 11-byte big-endian chunk counter and a
// last-chunk flag in the nonce (https://age-encryption.org/v1).
//
// Decryption only ever emits plaintext of chunks that authenticated. A damaged
// or truncated file still makes the stream fail *after* earlier good chunks
// were emitted: consumers must treat the output as complete only once the
// stream has ended without error (stage it, then publish).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AgeError } from './age-error.js';
import { headerEnd, hkdf, parseHeader, unwrapHeader, writeHeader, type UnwrapOptions } from './age-header.js';
import type { AgeRecipient } from './age-keys.js';
import { ChunkQueue } from './chunk-queue.js';

export const CHUNK_SIZE = 64 * 1024;
const TAG = 16;
const NONCE_SIZE = 16;
// The counter is 11 bytes; 2^48 chunks (16 EiB) is far beyond any backup.
const MAX_CHUNKS = 2 ** 48;

function chunkNonce(counter: number, last: boolean): Buffer {
  if (counter >= MAX_CHUNKS) throw new AgeError('payload too large');
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function payloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return hkdf(fileKey, nonce, 'payload');
}

/** Encrypt to the given recipients; only public keys are needed. */
export class AgeEncryptStream extends Transform {
  private readonly queue = new ChunkQueue();
  private readonly key: Buffer;
  private readonly prologue: Buffer;
  private started = false;
  private counter = 0;

  constructor(recipients: readonly AgeRecipient[]) {
    super();
    const fileKey = randomBytes(16);
    const nonce = randomBytes(NONCE_SIZE);
    this.prologue = Buffer.concat([writeHeader(fileKey, recipients), nonce]);
    this.key = payloadKey(fileKey, nonce);
    fileKey.fill(0);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.push(this.prologue);
  }

  /** Encrypt one chunk into `out` at `at`; returns the bytes written (chunk + tag). */
  private sealChunk(plain: Buffer, last: boolean, out: Buffer, at: number): number {
    const c = createCipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter++, last), { authTagLength: TAG });
    const n = c.update(plain).copy(out, at);
    c.final();
    return n + c.getAuthTag().copy(out, at + n);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.start();
      this.queue.push(chunk);
      // Keep at least one byte back: the last chunk must carry the last
      // flag, and it may be a full one when the input is a multiple of 64 KiB.
      const chunks = Math.floor((this.queue.length - 1) / CHUNK_SIZE);
      if (chunks > 0) {
        // One push per write, not per chunk: stream bookkeeping, not the
        // cipher, was what cost throughput (bench section "s3").
        const out = Buffer.allocUnsafe(chunks * (CHUNK_SIZE + TAG));
        let at = 0;
        for (let i = 0; i < chunks; i++) at += this.sealChunk(this.queue.take(CHUNK_SIZE), false, out, at);
        this.push(out);
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.start();
      const rest = this.queue.takeAll();
      const out = Buffer.allocUnsafe(rest.length + TAG);
      this.push(out.subarray(0, this.sealChunk(rest, true, out, 0)));
      this.key.fill(0);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

type DecryptState = 'header' | 'nonce' | 'payload';

/** Decrypt and authenticate; fails on any modification or truncation. */
export class AgeDecryptStream extends Transform {
  private readonly queue = new ChunkQueue();
  private state: DecryptState = 'header';
  private headerBuf = Buffer.alloc(0);
  private fileKey: Buffer | undefined;
  private key: Buffer | undefined;
  private counter = 0;

  constructor(private readonly opts: UnwrapOptions) {
    super();
    if (opts.identities.length === 0) throw new AgeError('no identity given');
  }

  private openChunk(sealed: Buffer, last: boolean): Buffer {
    const index = this.counter;
    const d = createDecipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter++, last), { authTagLength: TAG });
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const body = d.update(sealed.subarray(0, sealed.length - TAG));
    try {
      d.final();
    } catch {
      throw new AgeError(
        last
          ? `payload chunk ${index} failed authentication: the file was modified or truncated`
          : `payload chunk ${index} failed authentication: the file was modified`,
      );
    }
    return body;
  }

  private advance(): void {
    if (this.state === 'header') {
      const end = headerEnd(this.headerBuf);
      if (end === undefined) return;
      const header = parseHeader(this.headerBuf.subarray(0, end));
      this.fileKey = unwrapHeader(header, this.opts);
      this.queue.push(this.headerBuf.subarray(end));
      this.headerBuf = Buffer.alloc(0);
      this.state = 'nonce';
    }
    if (this.state === 'nonce') {
      if (this.queue.length < NONCE_SIZE) return;
      this.key = payloadKey(this.fileKey!, this.queue.take(NONCE_SIZE));
      this.fileKey!.fill(0);
      this.state = 'payload';
    }
    // Strictly more than one sealed chunk queued: this one is not the last.
    while (this.queue.length > CHUNK_SIZE + TAG) this.push(this.openChunk(this.queue.take(CHUNK_SIZE + TAG), false));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.state === 'header') this.headerBuf = Buffer.concat([this.headerBuf, chunk]);
      else this.queue.push(chunk);
      this.advance();
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.state === 'header') {
        throw new AgeError(this.headerBuf.length === 0 ? 'empty input: not an age file' : 'truncated: the file ends inside the header');
      }
      if (this.state === 'nonce') throw new AgeError('truncated: the file ends before the payload');
      if (this.queue.length < TAG) throw new AgeError('truncated: the payload is missing its last chunk');
      const plain = this.openChunk(this.queue.takeAll(), true);
      // Only an empty file may end with an empty chunk.
      if (plain.length === 0 && this.counter > 1) throw new AgeError('invalid payload: empty last chunk');
      this.push(plain);
      this.key!.fill(0);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

export function encryptStream(recipients: readonly AgeRecipient[]): AgeEncryptStream {
  return new AgeEncryptStream(recipients);
}

export function decryptStream(opts: UnwrapOptions): AgeDecryptStream {
  return new AgeDecryptStream(opts);
}
