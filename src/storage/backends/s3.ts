// A repository under s3://bucket/prefix on any S3-compatible object store,
// through the AWS SDK v3. Endpoint, region and credentials come from the
// standard AWS environment and config files (AWS_ENDPOINT_URL_S3,
// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/…): nothing of them is
// stored by us. An S3 object is visible only once its PUT or
// CompleteMultipartUpload succeeded, which gives put() its atomicity.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { hashing } from './hashing.js';
import { assertKey, assertPrefix, isValidKey } from './keys.js';
import { formatS3Url, parseS3Url, type S3Location } from './s3-url.js';
import { StorageError, type ObjectInfo, type PutBody, type PutOptions, type PutResult, type StorageBackend } from './types.js';

// The SDK warns on every process start that its releases after January 2027
// need Node 22. We pin releases that support Node 20 (package-lock.json), and
// the warning would land in PostgreSQL's log on every archive_command call.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const MIN_PART_SIZE = 5 * 1024 * 1024; // S3's minimum for all parts but the last
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;

export interface S3BackendOptions {
  /** Multipart part size in bytes (≥ 5 MiB). */
  partSize?: number;
  /** Parts uploaded concurrently. */
  queueSize?: number;
  /**
   * Path-style addressing (http://host/bucket/key). Default: the setting
   * BACKUP_MGMT_S3_ADDRESSING_STYLE (path | virtual | auto), where auto means
   * path style when a custom endpoint (AWS_ENDPOINT_URL[_S3]) is set, as
   * most S3-compatible servers need.
   */
  forcePathStyle?: boolean;
  /** Explicit client settings over the environment's (never persisted). */
  client?: Partial<S3ClientConfig>;
}

function envForcePathStyle(): boolean {
  const v = (process.env.BACKUP_MGMT_S3_ADDRESSING_STYLE ?? 'auto').trim();
  if (v === 'path') return true;
  if (v === 'virtual') return false;
  if (v !== 'auto' && v !== '') throw new StorageError('config', `BACKUP_MGMT_S3_ADDRESSING_STYLE must be path, virtual or auto, not ${JSON.stringify(v.slice(0, 40))}`);
  return Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const DENIED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function networkCode(e: unknown): string | undefined {
  for (let x = e as SdkError | undefined, depth = 0; x && depth < 4; x = x.cause as SdkError | undefined, depth++) {
    if (x.code && NETWORK_CODES.has(x.code)) return x.code;
    if (x.name === 'TimeoutError') return 'timeout';
  }
  return undefined;
}

export class S3Backend implements StorageBackend {
  readonly location: string;
  readonly partSize: number;
  readonly queueSize: number;
  /**
   * lib-storage holds one part per concurrent upload, and assembles the
   * next part while the others are in flight: (queueSize + 1) × partSize.
   */
  readonly maxBufferedBytes: number;
  private readonly loc: S3Location;
  private readonly client: S3Client;
  private readonly endpointForMessages: string;

  constructor(url: string, opts: S3BackendOptions = {}) {
    this.loc = parseS3Url(url);
    this.location = formatS3Url(this.loc);
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = opts.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new StorageError('config', `S3 part size must be an integer of at least ${MIN_PART_SIZE} bytes`);
    }
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1 || this.queueSize > 16) {
      throw new StorageError('config', 'S3 upload queue size must be an integer from 1 to 16');
    }
    this.maxBufferedBytes = (this.queueSize + 1) * this.partSize;
    const explicitEndpoint = opts.client?.endpoint;
    this.endpointForMessages =
      typeof explicitEndpoint === 'string' ? explicitEndpoint : (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'the AWS S3 endpoint');
    this.client = new S3Client({
      forcePathStyle: opts.forcePathStyle ?? envForcePathStyle(),
      maxAttempts: 3,
      // Integrity is end to end already (SHA-256 of the plaintext, age's
      // Poly1305 tag on every 64 KiB): the SDK's own CRC32 of every byte is
      // CPU taken from pg_basebackup, and some S3-compatible servers reject it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A dead server must fail the put, not hang it.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
      ...opts.client,
    });
  }

  private key(key: string): string {
    assertKey(key);
    return this.loc.prefix + key;
  }

  private where(key?: string): string {
    return key === undefined ? this.location : `${this.location}${key}`;
  }

  /** A one-line StorageError for what the SDK or the network said. */
  private error(op: string, key: string | undefined, e: unknown): StorageError {
    if (e instanceof StorageError) return e;
    const err = (e ?? {}) as SdkError;
    const name = err.name ?? 'Error';
    const status = err.$metadata?.httpStatusCode;
    const where = this.where(key);
    const msg = String(err.message ?? e).split('\n')[0]!.slice(0, 200);
    const opts = { cause: e };
    if (name === 'NoSuchBucket') return new StorageError('no_bucket', `${op} ${where}: bucket ${this.loc.bucket} does not exist`, opts);
    if (name === 'NoSuchKey') return new StorageError('not_found', `${where} does not exist`, opts);
    if (DENIED.has(name) || status === 403) {
      return new StorageError('access_denied', `${op} ${where}: access denied (${name === '403' ? 'HTTP 403' : name}): check the AWS credentials and the bucket's policy`, opts);
    }
    if (name === 'CredentialsProviderError') {
      return new StorageError('config', `${op} ${where}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials)`, opts);
    }
    if (/region is missing/i.test(msg)) return new StorageError('config', `${op} ${where}: no AWS region configured (set AWS_REGION or region in ~/.aws/config)`, opts);
    const net = networkCode(e);
    if (net) return new StorageError('unreachable', `${op} ${where}: S3 endpoint ${this.endpointForMessages} unreachable (${net})`, opts);
    return new StorageError('io', `${op} ${where}: ${name}${status ? ` (HTTP ${status})` : ''}: ${msg}`, opts);
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.loc.bucket }));
    } catch (e) {
      // HEAD responses carry no error body: the status is all there is.
      if ((e as SdkError).$metadata?.httpStatusCode === 404) {
        throw new StorageError('no_bucket', `bucket ${this.loc.bucket} does not exist (${this.location})`, { cause: e });
      }
      throw this.error('check', undefined, e);
    }
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.key(key);
    const { source, state } = hashing(body);
    const upload = new Upload({
      client: this.client,
      // Byte mode with a small high-water mark: Readable.from's default
      // object mode would read ahead 16 chunks of any size.
      params: { Bucket: this.loc.bucket, Key, Body: Readable.from(source, { objectMode: false, highWaterMark: 64 * 1024 }) },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // On failure the multipart upload is aborted: no parts are left billed.
      leavePartsOnError: false,
    });
    if (opts.onProgress) {
      const cb = opts.onProgress;
      upload.on('httpUploadProgress', (p) => {
        if (p.loaded !== undefined) cb(p.loaded);
      });
    }
    try {
      await upload.done();
    } catch (e) {
      if (state.sourceError !== undefined) throw state.sourceError;
      throw this.error('put', key, e);
    }
    return { key, bytes: state.bytes, sha256: state.sha256() };
  }

  async get(key: string): Promise<Readable> {
    const Key = this.key(key);
    let res;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key }));
    } catch (e) {
      throw this.error('get', key, e);
    }
    const body = res.Body as Readable | undefined;
    if (!body) throw new StorageError('io', `get ${this.where(key)}: empty response`);
    return this.lengthChecked(body, res.ContentLength, key);
  }

  /** Fail the stream when the connection ends before Content-Length bytes arrived. */
  private lengthChecked(body: Readable, expected: number | undefined, key: string): Readable {
    let seen = 0;
    const where = this.where(key);
    const out = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        if (expected !== undefined && seen > expected) cb(new StorageError('io', `get ${where}: more bytes than the ${expected} announced`));
        else cb(null, chunk);
      },
      flush(cb) {
        if (expected !== undefined && seen !== expected) cb(new StorageError('io', `get ${where}: connection ended after ${seen} of ${expected} bytes`));
        else cb();
      },
    });
    body.on('error', (e) => out.destroy(this.error('get', key, e)));
    body.on('aborted', () => out.destroy(new StorageError('io', `get ${where}: connection ended after ${seen} of ${expected ?? '?'} bytes`)));
    out.on('close', () => {
      if (!body.destroyed) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    assertPrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: this.loc.prefix + prefix, ContinuationToken: token }),
        );
      } catch (e) {
        throw this.error('list', prefix || undefined, e);
      }
      for (const o of page.Contents ?? []) {
        const key = (o.Key ?? '').slice(this.loc.prefix.length);
        // Objects someone else put under the prefix outside our key grammar are not ours.
        if (!o.Key?.startsWith(this.loc.prefix) || !isValidKey(key)) continue;
        yield { key, size: o.Size ?? 0, modified: o.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key) }));
    } catch (e) {
      throw this.error('delete', key, e);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key: this.key(key) }));
      return { key, size: h.ContentLength ?? 0, modified: h.LastModified };
    } catch (e) {
      if ((e as SdkError).$metadata?.httpStatusCode === 404) return undefined;
      throw this.error('stat', key, e);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  /** Close the client's sockets (tests, short-lived commands). */
  destroy(): void {
    this.client.destroy();
  }
}
