// Open a repository location: an absolute directory or s3://bucket/prefix.
// The AWS SDK takes ~0.5 s to load, so it is loaded only when an s3://
// location is opened: a local wal-push must not pay for it.
export * from './types.js';
export { assertKey, assertPrefix, isValidKey } from './keys.js';
export { LocalBackend } from './local.js';
export { formatS3Url, parseS3Url, type S3Location } from './s3-url.js';
export type { S3Backend, S3BackendOptions } from './s3.js';

import { isAbsolute } from 'node:path';
import { LocalBackend } from './local.js';
import type { S3BackendOptions } from './s3.js';
import { parseS3Url } from './s3-url.js';
import { StorageError, type StorageBackend } from './types.js';

export async function openBackend(location: string, s3?: S3BackendOptions): Promise<StorageBackend> {
  if (location.startsWith('s3://')) {
    parseS3Url(location); // refuse a bad URL before loading the SDK
    const { S3Backend } = await import('./s3.js');
    return new S3Backend(location, s3);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new StorageError('invalid', `storage type of ${JSON.stringify(location.slice(0, 80))} is not supported: use a local directory or s3://bucket/prefix`);
  }
  if (isAbsolute(location)) return new LocalBackend(location);
  throw new StorageError('invalid', `repository location must be an absolute directory or s3://bucket/prefix, not ${JSON.stringify(location.slice(0, 80))}`);
}
