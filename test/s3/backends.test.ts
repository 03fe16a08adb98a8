// The storage interface's contract, run against both backends: the local
// directory and S3 (a real s3rver over HTTP on loopback).
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { listAll, LocalBackend, openBackend, StorageError, type StorageBackend } from '../../src/storage/backends/index.js';
import { S3Backend } from '../../src/storage/backends/s3.js';
import { useS3Scratch } from './offsite-env.js';

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A body that stops after `head` bytes until release() is called. */
function gatedBody(head: Buffer, tail: Buffer): { body: Readable; release: () => void; reachedGate: Promise<void> } {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reachedGate = new Promise<void>((r) => (reached = r));
  async function* gen() {
    yield head;
    reached();
    await gate;
    yield tail;
  }
  return { body: Readable.from(gen(), { objectMode: false }), release, reachedGate };
}

const scratch = useS3Scratch(['contract'], 'bm-local-backend-');

const backends: Array<[string, () => StorageBackend]> = [
  ['local directory', () => new LocalBackend(join(scratch.dir(), 'repo'))],
  ['S3 (s3rver on loopback)', () => new S3Backend('s3://contract/repo1/')],
];

describe.each(backends)('%s', (_name, make) => {
  let b: StorageBackend;
  beforeAll(() => {
    b = make();
  });

  it('puts and gets bytes back identical, reporting size and SHA-256', async () => {
    const data = randomBytes(300_000);
    const r = await b.put('backups/b1/base.tar', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(r).toEqual({ key: 'backups/b1/base.tar', bytes: data.length, sha256: sha(data) });
    expect(sha(await readAll(await b.get('backups/b1/base.tar')))).toBe(sha(data));
    const empty = await b.put('backups/b1/empty', Readable.from([]));
    expect(empty.bytes).toBe(0);
    expect((await readAll(await b.get('backups/b1/empty'))).length).toBe(0);
  });

  it('stat, exists, list by prefix and delete', async () => {
    await b.put('wal/0000000100000000/000000010000000000000001-aa', Readable.from([Buffer.from('one')]));
    await b.put('wal/0000000100000000/000000010000000000000002-bb', Readable.from([Buffer.from('two!')]));
    await b.put('wal/0000000200000000/000000020000000000000003-cc', Readable.from([Buffer.from('x')]));
    expect(await b.stat('wal/0000000100000000/000000010000000000000002-bb')).toMatchObject({ size: 4 });
    expect(await b.exists('wal/0000000100000000/000000010000000000000001-aa')).toBe(true);
    expect(await b.exists('wal/0000000100000000/nope')).toBe(false);
    expect(await b.stat('nowhere/at/all')).toBeUndefined();

    expect((await listAll(b, 'wal/0000000100000000/')).map((o) => o.key)).toEqual([
      'wal/0000000100000000/000000010000000000000001-aa',
      'wal/0000000100000000/000000010000000000000002-bb',
    ]);
    // A string prefix, not only a directory.
    expect((await listAll(b, 'wal/00000002')).map((o) => [o.key, o.size])).toEqual([['wal/0000000200000000/000000020000000000000003-cc', 1]]);
    expect((await listAll(b, 'wal/0000000100000000/000000010000000000000002')).map((o) => o.key)).toEqual([
      'wal/0000000100000000/000000010000000000000002-bb',
    ]);
    expect(await listAll(b, 'missing/')).toEqual([]);
    expect((await listAll(b)).length).toBeGreaterThanOrEqual(5);

    await b.delete('wal/0000000100000000/000000010000000000000001-aa');
    expect(await b.exists('wal/0000000100000000/000000010000000000000001-aa')).toBe(false);
    await b.delete('wal/0000000100000000/000000010000000000000001-aa'); // absent: not an error
    const err = await b.get('wal/0000000100000000/000000010000000000000001-aa').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('not_found');
  });

  it('replaces an object as a whole', async () => {
    await b.put('meta/format', Readable.from([Buffer.from('version 1')]));
    await b.put('meta/format', Readable.from([Buffer.from('v2')]));
    expect((await readAll(await b.get('meta/format'))).toString()).toBe('v2');
  });

  it('makes an object visible only once it is complete', async () => {
    const head = randomBytes(200_000);
    const tail = randomBytes(100_000);
    const { body, release, reachedGate } = gatedBody(head, tail);
    const put = b.put('backups/b2/base.tar', body);
    await reachedGate;
    // The first part is with the backend now: still nothing under the key.
    await new Promise((r) => setTimeout(r, 200));
    expect(await b.exists('backups/b2/base.tar')).toBe(false);
    expect((await listAll(b, 'backups/b2/')).map((o) => o.key)).toEqual([]);
    release();
    await put;
    expect(sha(await readAll(await b.get('backups/b2/base.tar')))).toBe(sha(Buffer.concat([head, tail])));
  });

  it('a failing source rejects put with the source error and leaves nothing', async () => {
    async function* failing() {
      yield randomBytes(100_000);
      throw new Error('pg_basebackup exited with 1');
    }
    await expect(b.put('backups/b3/base.tar', Readable.from(failing(), { objectMode: false }))).rejects.toThrow('pg_basebackup exited with 1');
    expect(await b.exists('backups/b3/base.tar')).toBe(false);
    expect(await listAll(b, 'backups/b3')).toEqual([]);
  });

  it('refuses keys outside the whitelist before touching storage', async () => {
    for (const bad of ['../etc/passwd', '/abs', 'a//b', 'a/./b', '.hidden', 'a/.tmp-x', 'sp ace', 'semi;colon', 'dollar$(x)', 'new\nline', 'a/', '', 'ü']) {
      const e = await b.put(bad, Readable.from([Buffer.from('x')])).catch((x: unknown) => x);
      expect(e, bad).toBeInstanceOf(StorageError);
      expect((e as StorageError).code, bad).toBe('invalid');
      expect((e as Error).message, bad).not.toContain('\n');
    }
    await expect(b.exists('../x')).rejects.toThrow(/invalid storage key/);
    await expect(listAll(b, '../')).rejects.toThrow(/invalid storage prefix/);
  });
});

describe('local directory specifics', () => {
  it('leaves no temporary file behind after a failed put, and lists none during one', async () => {
    const b = new LocalBackend(join(scratch.dir(), 'repo-tmp'));
    async function* failing() {
      yield randomBytes(10_000);
      throw new Error('source broke');
    }
    await expect(b.put('x/y', Readable.from(failing(), { objectMode: false }))).rejects.toThrow('source broke');
    expect(await readdir(join(scratch.dir(), 'repo-tmp', 'x'))).toEqual([]);
  });

  it('openBackend picks the backend from the location and refuses others', async () => {
    expect(await openBackend('/var/backups/repo')).toBeInstanceOf(LocalBackend);
    expect(await openBackend('s3://contract/p')).toBeInstanceOf(S3Backend);
    await expect(openBackend('gs://bucket/p')).rejects.toThrow(/not supported/);
    await expect(openBackend('s3://Bad_Bucket/p')).rejects.toThrow(/^invalid S3 location/);
    await expect(openBackend('relative/dir')).rejects.toThrow(/absolute directory or s3:/);
  });
});
