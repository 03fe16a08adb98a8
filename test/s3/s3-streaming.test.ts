// S3 backend against a real S3 server (s3rver over HTTP on loopback, in its
// own process): multipart streaming with a bounded buffer, a server killed
// mid-upload, and the errors an operator sees for bad configuration.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, parseS3Url, StorageError } from '../../src/storage/backends/index.js';
import { MIN_PART_SIZE, S3Backend } from '../../src/storage/backends/s3.js';
import { S3RVER_KEY_ID, S3RVER_SECRET, startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';

const MiB = 1024 * 1024;
const OBJECT_SIZE = 40 * MiB;
const SOURCE_CHUNK = 256 * 1024;

/**
 * A lazily produced body of `size` pseudo-random bytes. `produced()` is what
 * the backend has pulled so far; nothing exists before it is pulled.
 */
function lazyBody(size: number, onPull?: (produced: number) => void) {
  const hash = createHash('sha256');
  let produced = 0;
  const block = randomBytes(SOURCE_CHUNK);
  async function* gen() {
    for (let i = 0; produced < size; i++) {
      const n = Math.min(SOURCE_CHUNK, size - produced);
      const chunk = Buffer.from(block.subarray(0, n)); // a fresh buffer each time, like a pipe
      chunk.writeUInt32BE(i, 0);
      hash.update(chunk);
      produced += n;
      onPull?.(produced);
      yield chunk;
    }
  }
  return { body: Readable.from(gen(), { objectMode: false }), sha256: () => hash.digest('hex'), produced: () => produced };
}

async function sha256Of(r: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of r) h.update(c as Buffer);
  return h.digest('hex');
}

function oneLine(e: unknown): string {
  expect(e).toBeInstanceOf(StorageError);
  const msg = (e as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg).not.toContain(S3RVER_SECRET === 'S3RVER' ? 'WRONGSECRET' : S3RVER_SECRET);
  return msg;
}

let server: S3Server;

beforeAll(async () => {
  server = await startS3Server(['backups']);
  useS3Environment(server);
});

afterAll(async () => {
  await server?.stop();
});

describe('streaming a 40 MiB object in 5 MiB parts', () => {
  it('uploads with a bounded buffer and downloads the identical bytes', async () => {
    const b = new S3Backend('s3://backups/stream', { partSize: MIN_PART_SIZE, queueSize: 2 });
    let stored = 0;
    let peak = 0;
    const acks: number[] = [];
    const src = lazyBody(OBJECT_SIZE, (produced) => {
      // Pulled from the source but not yet acknowledged by the server = held by the agent.
      peak = Math.max(peak, produced - stored);
    });
    const r = await b.put('big/base.tar', src.body, {
      onProgress: (n) => {
        stored = n;
        acks.push(n);
      },
    });
    expect(r.bytes).toBe(OBJECT_SIZE);
    // A real multipart upload: the server acknowledged eight 5 MiB parts one by one.
    expect(acks).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => i * MIN_PART_SIZE));
    expect(r.sha256).toBe(src.sha256());
    expect(stored).toBe(OBJECT_SIZE);
    // The bound the backend states, (queueSize + 1) × partSize = 15 MiB, plus one source chunk.
    expect(b.maxBufferedBytes).toBe(3 * MIN_PART_SIZE);
    expect(peak).toBeLessThanOrEqual(b.maxBufferedBytes + SOURCE_CHUNK);
    expect(peak).toBeLessThan(OBJECT_SIZE / 2);
    console.log(`[s3] 40 MiB put: peak held by the agent ${(peak / MiB).toFixed(1)} MiB, stated bound ${b.maxBufferedBytes / MiB} MiB`);

    expect(await sha256Of(await b.get('big/base.tar'))).toBe(r.sha256);
    expect(await b.stat('big/base.tar')).toMatchObject({ size: OBJECT_SIZE });
    await b.delete('big/base.tar');
    expect(await b.exists('big/base.tar')).toBe(false);
  });

  it('keeps a multipart object invisible until its last part is in', async () => {
    const b = new S3Backend('s3://backups/stream', { partSize: MIN_PART_SIZE, queueSize: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let parts = 0;
    let partsIn!: () => void;
    const threePartsIn = new Promise<void>((r) => (partsIn = r));
    async function* gen() {
      for (let i = 0; i < 16; i++) yield randomBytes(MiB);
      await gate;
      for (let i = 0; i < 4; i++) yield randomBytes(MiB);
    }
    const put = b.put('gated/base.tar', Readable.from(gen(), { objectMode: false }), {
      onProgress: (n) => {
        parts = Math.floor(n / MIN_PART_SIZE);
        if (parts >= 3) partsIn();
      },
    });
    await threePartsIn;
    expect(await b.exists('gated/base.tar')).toBe(false);
    expect(await listAll(b, 'gated/')).toEqual([]);
    release();
    const r = await put;
    expect(r.bytes).toBe(20 * MiB);
    expect(await b.stat('gated/base.tar')).toMatchObject({ size: 20 * MiB });
  });
});

describe('server killed mid-upload', () => {
  it('put rejects with one line, no object becomes visible, and a retry after restart succeeds', async () => {
    const b = new S3Backend('s3://backups/crash', { partSize: MIN_PART_SIZE, queueSize: 2 });
    let killed: Promise<void> | undefined;
    const src = lazyBody(OBJECT_SIZE);
    const started = Date.now();
    const err = await b
      .put('full/base.tar', src.body, {
        onProgress: (n) => {
          // Two parts acknowledged, more on the wire: pull the plug.
          if (n >= 2 * MIN_PART_SIZE && !killed) killed = server.kill();
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(killed, 'the server was killed during the upload').toBeDefined();
    expect(src.produced()).toBeLessThan(OBJECT_SIZE);
    const msg = oneLine(err);
    expect((err as StorageError).code).toBe('unreachable');
    expect(msg).toMatch(/^put s3:\/\/backups\/crash\/full\/base\.tar: S3 endpoint http:\/\/127\.0\.0\.1:\d+ unreachable \(E[A-Z]+\)$/);
    console.log(`[s3] killed mid-upload: rejected after ${Date.now() - started} ms: ${msg}`);

    await server.restart();
    expect(await b.exists('full/base.tar')).toBe(false);
    expect(await listAll(b, '')).toEqual([]);

    const again = lazyBody(OBJECT_SIZE);
    const r = await b.put('full/base.tar', again.body);
    expect(r.sha256).toBe(again.sha256());
    expect(await sha256Of(await b.get('full/base.tar'))).toBe(r.sha256);
  });

  it('get of a server that is gone mid-download fails instead of returning short data', async () => {
    const b = new S3Backend('s3://backups/crash', { partSize: MIN_PART_SIZE });
    const stream = await b.get('full/base.tar');
    let got = 0;
    const err = await (async () => {
      for await (const c of stream) {
        got += (c as Buffer).length;
        if (got >= 4 * MiB) await server.kill();
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    await server.restart();
    expect(got).toBeLessThan(OBJECT_SIZE);
    console.log(`[s3] killed mid-download after ${got} bytes: ${(err as Error)?.message}`);
    expect(oneLine(err)).toMatch(/^get s3:\/\/backups\/crash\/full\/base\.tar: /);
  });
});

describe('configuration errors are one line and change nothing', () => {
  it('wrong credentials: access denied', async () => {
    const b = new S3Backend('s3://backups/denied', {
      client: { credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: 'WRONGSECRET' } },
    });
    const checkErr = await b.check().catch((e: unknown) => e);
    expect(oneLine(checkErr)).toMatch(/access denied .*check the AWS credentials/);
    expect((checkErr as StorageError).code).toBe('access_denied');
    const putErr = await b.put('x/y', Readable.from([randomBytes(1000)])).catch((e: unknown) => e);
    expect(oneLine(putErr)).toMatch(/^put s3:\/\/backups\/denied\/x\/y: access denied \(InvalidAccessKeyId\)/);
    expect(oneLine(await b.get('x/y').catch((e: unknown) => e))).toMatch(/access denied/);
    expect(oneLine(await listAll(b).catch((e: unknown) => e))).toMatch(/access denied/);
    expect(await new S3Backend('s3://backups/denied').exists('x/y')).toBe(false);
  });

  it('missing bucket: says so', async () => {
    const b = new S3Backend('s3://no-such-bucket/p');
    const checkErr = await b.check().catch((e: unknown) => e);
    expect(oneLine(checkErr)).toBe('bucket no-such-bucket does not exist (s3://no-such-bucket/p/)');
    expect((checkErr as StorageError).code).toBe('no_bucket');
    const putErr = await b.put('x', Readable.from([Buffer.from('x')])).catch((e: unknown) => e);
    expect(oneLine(putErr)).toBe('put s3://no-such-bucket/p/x: bucket no-such-bucket does not exist');
    expect(oneLine(await listAll(b).catch((e: unknown) => e))).toMatch(/bucket no-such-bucket does not exist/);
    expect(oneLine(await b.get('x').catch((e: unknown) => e))).toMatch(/bucket no-such-bucket does not exist/);
  });

  it('nothing listening at the endpoint: unreachable', async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const b = new S3Backend('s3://backups/p', { client: { endpoint: `http://127.0.0.1:${port}` } });
    const e = await b.check().catch((x: unknown) => x);
    expect(oneLine(e)).toBe(`check s3://backups/p/: S3 endpoint http://127.0.0.1:${port} unreachable (ECONNREFUSED)`);
  });

  it('no credentials or no region in the environment: says which setting is missing', async () => {
    const saved = { ...process.env };
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      const noCreds = await new S3Backend('s3://backups/p').check().catch((x: unknown) => x);
      expect(oneLine(noCreds)).toMatch(/no AWS credentials found \(set AWS_ACCESS_KEY_ID/);
      process.env.AWS_ACCESS_KEY_ID = S3RVER_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY = S3RVER_SECRET;
      delete process.env.AWS_REGION;
      const noRegion = await new S3Backend('s3://backups/p').check().catch((x: unknown) => x);
      expect(oneLine(noRegion)).toMatch(/no AWS region configured/);
    } finally {
      process.env = saved;
    }
  });
});

describe('s3:// locations are parsed against a whitelist', () => {
  it('accepts bucket and prefix, normalises the prefix', () => {
    expect(parseS3Url('s3://my-backups')).toEqual({ bucket: 'my-backups', prefix: '' });
    expect(parseS3Url('s3://my-backups/')).toEqual({ bucket: 'my-backups', prefix: '' });
    expect(parseS3Url('s3://my.backups/pg/main')).toEqual({ bucket: 'my.backups', prefix: 'pg/main/' });
    expect(parseS3Url('s3://abc/pg/main/')).toEqual({ bucket: 'abc', prefix: 'pg/main/' });
  });

  it('refuses everything else with one line', () => {
    for (const bad of [
      'S3://bucket/p',
      's3://Bucket/p',
      's3://ab',
      `s3://${'a'.repeat(64)}`,
      's3://-bucket',
      's3://bucket-',
      's3://bu..cket',
      's3://bu.-cket',
      's3://192.168.1.1',
      's3://xn--bucket',
      's3://bucket-s3alias',
      's3://key:secret@bucket/p',
      's3://bucket:9000/p',
      's3://bucket/p?x=1',
      's3://bucket/p#f',
      's3://bucket/../etc',
      's3://bucket//p',
      's3://bucket/p/./q',
      's3://bucket/p%2Fq',
      's3://bucket/a b',
      's3://bucket/$(id)',
      's3://bucket/.hidden',
      's3:/bucket',
      'https://bucket.s3.amazonaws.com/p',
    ]) {
      const e = (() => {
        try {
          parseS3Url(bad);
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(e, bad).toBeInstanceOf(StorageError);
      expect((e as Error).message, bad).toMatch(/^invalid S3 location /);
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
