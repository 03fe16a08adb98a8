// The names a backend accepts. Each segment starts with a letter or digit
// (so no ".", "..", hidden or temporary names) and holds only [A-Za-z0-9._-]:
// safe as a file name, an S3 key and in a message.
import { StorageError } from './types.js';

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
export const MAX_KEY_LENGTH = 1024;

export function isValidKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_KEY_LENGTH && key.split('/').every((s) => SEGMENT_RE.test(s));
}

export function assertKey(key: string): void {
  if (!isValidKey(key)) {
    throw new StorageError('invalid', `invalid storage key ${JSON.stringify(key.slice(0, 80))}: segments of [A-Za-z0-9._-] starting with a letter or digit, separated by "/"`);
  }
}

/** A list prefix: empty, a key, or a key followed by "/". */
export function assertPrefix(prefix: string): void {
  if (prefix === '') return;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (!isValidKey(body)) throw new StorageError('invalid', `invalid storage prefix ${JSON.stringify(prefix.slice(0, 80))}`);
}
