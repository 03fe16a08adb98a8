// One interface for every place a repository can live. Keys are relative,
// '/'-separated names from a whitelist (keys.ts); a backend maps them onto a
// directory tree or an object-store prefix.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  /** Key relative to the backend's root. */
  key: string;
  size: number;
  modified?: Date;
}

export interface PutResult {
  key: string;
  /** Bytes stored. */
  bytes: number;
  /** SHA-256 (hex) of the bytes stored, computed while they streamed through. */
  sha256: string;
}

export type PutBody = Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  /** Bytes the backend has durably taken over so far (for progress reports). */
  onProgress?: (bytesStored: number) => void;
}

export interface StorageBackend {
  /** Where this is, for messages and metadata: a path or s3://bucket/prefix (never a credential). */
  readonly location: string;
  /**
   * Upper bound of body bytes the backend holds in memory during one put,
   * whatever the object's size (excluding the caller's own stream buffers).
   */
  readonly maxBufferedBytes: number;
  /** Reachable, exists, and we may use it: a one-line StorageError otherwise. */
  check(): Promise<void>;
  /**
   * Store `body` under `key`. The object becomes visible only once complete:
   * a reader sees the old object (or none) until then, and nothing if put
   * fails. An existing object is replaced.
   */
  put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  /** Stream an object; StorageError code 'not_found' when it is absent. */
  get(key: string): Promise<Readable>;
  /** Objects whose key starts with `prefix` (a string prefix, not only a directory). No order is promised. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** Remove an object; removing an absent one is not an error. */
  delete(key: string): Promise<void>;
  /** Size and time of an object, or undefined when absent. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
}

export type StorageErrorCode = 'not_found' | 'invalid' | 'access_denied' | 'no_bucket' | 'unreachable' | 'config' | 'io';

/** A storage failure, always one line and never carrying a secret. */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message.replace(/\s*\n\s*/g, ' '), options);
    this.name = 'StorageError';
  }
}

export async function listAll(backend: StorageBackend, prefix = ''): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of backend.list(prefix)) out.push(o);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
