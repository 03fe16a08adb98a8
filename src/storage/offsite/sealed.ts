// A repository's objects on any backend, encrypted when the repository is:
// put() encrypts on the way out (the object is stored as `<key>.age`), get()
// decrypts and authenticates on the way back. Keys are the local layout's
// relative paths (layout.ts with repo ''), so a repository reads the same on
// every backend. The plaintext's SHA-256 and size are computed as it streams:
// they are what manifests, WAL names and the catalog record.
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptStream, encryptStream } from '../crypto/index.js';
import { StorageError, type ObjectInfo, type PutBody, type PutOptions, type StorageBackend } from '../backends/types.js';
import type { Encryption } from './config.js';

export const SEALED_SUFFIX = '.age';

export interface SealedPutResult {
  key: string;
  /** Plaintext bytes and SHA-256 (what went in). */
  bytes: number;
  sha256: string;
  /** What the backend holds (ciphertext when encrypted). */
  storedKey: string;
  storedBytes: number;
}

function counting(state: { bytes: number; hash: ReturnType<typeof createHash> }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      state.hash.update(chunk);
      state.bytes += chunk.length;
      cb(null, chunk);
    },
  });
}

export class SealedStore {
  constructor(
    readonly backend: StorageBackend,
    /** undefined: a plaintext repository (local default). */
    readonly encryption?: Encryption,
  ) {}

  get location(): string {
    return this.backend.location;
  }

  get encrypted(): boolean {
    return this.encryption !== undefined;
  }

  storedKey(key: string): string {
    return this.encryption ? `${key}${SEALED_SUFFIX}` : key;
  }

  async put(key: string, body: PutBody, opts?: PutOptions): Promise<SealedPutResult> {
    const state = { bytes: 0, hash: createHash('sha256') };
    const source = Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
    const plain = counting(state);
    let out: Readable;
    let piping: Promise<void>;
    if (this.encryption) {
      if (this.encryption.recipients.length === 0) throw new StorageError('config', `no recipient to encrypt to for ${this.location}`);
      const enc = encryptStream(this.encryption.recipients);
      out = enc;
      piping = pipeline(source, plain, enc);
    } else {
      const pass = new PassThrough();
      out = pass;
      piping = pipeline(source, plain, pass);
    }
    // A failing source must fail the put (the backend then stores nothing).
    piping.catch((e) => out.destroy(e as Error));
    const stored = await this.backend.put(this.storedKey(key), out, opts);
    await piping;
    return { key, bytes: state.bytes, sha256: state.hash.digest('hex'), storedKey: stored.key, storedBytes: stored.bytes };
  }

  /**
   * The plaintext. With encryption the stream errors (AgeError, one line) on
   * a wrong key or any tampering; consumers trust the bytes only once it ended.
   */
  async get(key: string): Promise<Readable> {
    const raw = await this.backend.get(this.storedKey(key));
    if (!this.encryption) return raw;
    const identities = this.encryption.identities();
    const dec = decryptStream({ identities, expectedFingerprint: this.encryption.fingerprints[0] });
    raw.on('error', (e) => dec.destroy(e));
    return raw.pipe(dec);
  }

  /** Objects under `prefix`, by their logical keys (the `.age` suffix removed). */
  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    for await (const o of this.backend.list(prefix)) {
      if (this.encryption) {
        if (!o.key.endsWith(SEALED_SUFFIX)) continue; // a plaintext object in an encrypted repository is not ours
        yield { ...o, key: o.key.slice(0, -SEALED_SUFFIX.length) };
      } else {
        yield o;
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    return this.backend.exists(this.storedKey(key));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const o = await this.backend.stat(this.storedKey(key));
    return o && { ...o, key };
  }

  async delete(key: string): Promise<void> {
    await this.backend.delete(this.storedKey(key));
  }
}
