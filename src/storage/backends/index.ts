// Open a repository location: an absolute directory or s3://bucket/prefix.
export * from './types.js';
export { assertKey, assertPrefix, isValidKey } from './keys.js';
export { LocalBackend } from './local.js';
export { S3Backend, DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, MIN_PART_SIZE, type S3BackendOptions } from './s3.js';
export { formatS3Url, parseS3Url, type S3Location } from './s3-url.js';

import { isAbsolute } from 'node:path';
import { LocalBackend } from './local.js';
import { S3Backend, type S3BackendOptions } from './s3.js';
import { StorageError, type StorageBackend } from './types.js';

export function openBackend(location: string, s3?: S3BackendOptions): StorageBackend {
  if (location.startsWith('s3://')) return new S3Backend(location, s3);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new StorageError('invalid', `storage type of ${JSON.stringify(location.slice(0, 80))} is not supported: use a local directory or s3://bucket/prefix`);
  }
  if (isAbsolute(location)) return new LocalBackend(location);
  throw new StorageError('invalid', `repository location must be an absolute directory or s3://bucket/prefix, not ${JSON.stringify(location.slice(0, 80))}`);
}
