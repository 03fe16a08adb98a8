// s3://bucket/prefix, parsed against a whitelist: a DNS-style bucket name and
// a prefix in the key grammar. No credentials, endpoint, port, query or
// escapes can ride in on the URL; those come from the AWS environment.
import { isValidKey } from './keys.js';
import { StorageError } from './types.js';

export interface S3Location {
  bucket: string;
  /** Empty, or ending with "/". */
  prefix: string;
}

const URL_RE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

function invalid(url: string, why: string): StorageError {
  return new StorageError('invalid', `invalid S3 location ${JSON.stringify(url.slice(0, 200))}: ${why}`);
}

export function parseS3Url(url: string): S3Location {
  const m = URL_RE.exec(url);
  if (!m) throw invalid(url, 'expected s3://bucket[/prefix] with a bucket of 3-63 lower-case letters, digits, "." or "-"');
  const bucket = m[1]!;
  if (/\.\.|\.-|-\./.test(bucket)) throw invalid(url, 'bucket name has adjacent "." or "-"');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) throw invalid(url, 'bucket name must not look like an IP address');
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket) || /(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(bucket)) {
    throw invalid(url, 'bucket name uses a reserved prefix or suffix');
  }
  let prefix = m[2] ?? '';
  if (prefix !== '') {
    const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    if (!isValidKey(body)) throw invalid(url, 'prefix segments must be [A-Za-z0-9._-] starting with a letter or digit');
    prefix = `${body}/`;
  }
  return { bucket, prefix };
}

export function formatS3Url(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}
