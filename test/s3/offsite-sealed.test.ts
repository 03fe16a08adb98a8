// The off-host store's contract on a real directory: what goes in encrypted
// comes back equal, the stored object is not the plaintext, tampering and a
// wrong or missing key are one-line errors naming the expected fingerprint.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/storage/backends/index.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { applyEnvFile, encryptionFor, offsiteConfig, SealedStore } from '../../src/storage/offsite/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('SealedStore', () => {
  it('round-trips encrypted bytes, reports the plaintext digest, refuses tampering and wrong keys', async () => {
    const me = generateIdentity();
    const keyFile = join(dir, 'key.txt');
    await writeFile(keyFile, `${me.secret}\n`);
    const env = { BACKUP_MGMT_DECRYPT_IDENTITY_FILE: keyFile };
    const store = new SealedStore(new LocalBackend(join(dir, 'repo')), encryptionFor([me.identity.recipient], env));
    const data = randomBytes(300_000);
    const put = await store.put('1/backups/b1/base.tar.zst', Readable.from([data]));
    expect(put.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(put.bytes).toBe(data.length);
    expect(put.storedKey).toBe('1/backups/b1/base.tar.zst.age');
    const raw = await readFile(join(dir, 'repo', put.storedKey));
    expect(raw.includes(data.subarray(0, 64))).toBe(false);
    expect((await readAll(await store.get('1/backups/b1/base.tar.zst'))).equals(data)).toBe(true);
    const listed = [];
    for await (const o of store.list('1/')) listed.push(o.key);
    expect(listed).toEqual(['1/backups/b1/base.tar.zst']);

    raw[raw.length - 100] ^= 1;
    await writeFile(join(dir, 'repo', put.storedKey), raw);
    await expect(readAll(await store.get('1/backups/b1/base.tar.zst'))).rejects.toThrow(/^age: /);

    const other = generateIdentity();
    const otherFile = join(dir, 'other.txt');
    await writeFile(otherFile, `${other.secret}\n`);
    const wrong = new SealedStore(store.backend, encryptionFor([me.identity.recipient], { BACKUP_MGMT_DECRYPT_IDENTITY_FILE: otherFile }));
    await store.put('k2', Readable.from([Buffer.from('x')]));
    await expect(readAll(await wrong.get('k2'))).rejects.toThrow(me.identity.fingerprint);
    const none = new SealedStore(store.backend, encryptionFor([me.identity.recipient], {}));
    await expect(none.get('k2')).rejects.toThrow(new RegExp(`BACKUP_MGMT_DECRYPT_IDENTITY_FILE.*${me.identity.fingerprint}`));
  });

  it('a failing source stores nothing', async () => {
    const me = generateIdentity();
    const store = new SealedStore(new LocalBackend(join(dir, 'repo2')), encryptionFor([me.identity.recipient], {}));
    async function* failing() {
      yield Buffer.alloc(100_000);
      throw new Error('source broke');
    }
    await expect(store.put('a/b', failing())).rejects.toThrow('source broke');
    expect(await store.exists('a/b')).toBe(false);
  });
});

describe('offsite configuration', () => {
  it('needs a recipient for an S3 repository and reads an env file without overriding the environment', async () => {
    expect(offsiteConfig({})).toBeUndefined();
    expect(() => offsiteConfig({ BACKUP_MGMT_REPO_S3: 's3://bucket/p' })).toThrow(/BACKUP_MGMT_ENCRYPT_RECIPIENT/);
    expect(() => offsiteConfig({ BACKUP_MGMT_REPO_S3: 'http://x', BACKUP_MGMT_ENCRYPT_RECIPIENT: 'age1x' })).toThrow(/s3:\/\/bucket\/prefix/);
    const me = generateIdentity();
    const cfg = offsiteConfig({ BACKUP_MGMT_REPO_S3: 's3://bucket/p/', BACKUP_MGMT_ENCRYPT_RECIPIENT: me.identity.recipient.text });
    expect(cfg?.location).toBe('s3://bucket/p');
    expect(cfg?.encryption.fingerprints).toEqual([me.identity.fingerprint]);

    const file = join(dir, 'backup-mgmt.env');
    await writeFile(file, `# off-host\nBACKUP_MGMT_REPO_S3=s3://b/x\nAWS_REGION="us-east-1"\n`);
    const env: NodeJS.ProcessEnv = { AWS_REGION: 'eu-west-1' };
    applyEnvFile(file, env);
    expect(env).toEqual({ AWS_REGION: 'eu-west-1', BACKUP_MGMT_REPO_S3: 's3://b/x' });
    await writeFile(file, 'PATH=/tmp\n');
    expect(() => applyEnvFile(file, {})).toThrow(/:1: expected BACKUP_MGMT_/);
  });
});
