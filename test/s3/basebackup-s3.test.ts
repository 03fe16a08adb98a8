// The whole groundwork on a real backup: pg_basebackup's tar streams through
// age encryption into a multipart upload on a real S3 server, comes back,
// decrypts (with our code and with the age CLI) to the same SHA-256, and the
// restored cluster holds the source's rows.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MIN_PART_SIZE, S3Backend } from '../../src/storage/backends/s3.js';
import { decryptStream, encryptStream, generateIdentity } from '../../src/storage/crypto/index.js';
import { pgTool } from '../../src/util/process.js';
import { makeTraversableDir, RUN_DIR, useCluster } from '../harness/cluster.js';
import { postgresDir, restoreBackup, tableChecksum, type Restored } from '../e2e/support.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';

const cluster = useCluster({ name: 's3bb', pgCron: false });
let server: S3Server;
let work: string;
let restored: Restored | undefined;

beforeAll(async () => {
  server = await startS3Server(['pgbackups']);
  useS3Environment(server);
  work = join(RUN_DIR, `s3bb-${process.pid}`);
  await makeTraversableDir(work);
});

afterAll(async () => {
  await restored?.stop();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A tool's stdout that fails (instead of ending) when the tool exits non-zero. */
function toolOutput(cmd: string, args: string[]): Readable {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy(e));
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`${cmd} exited with ${code ?? signal}: ${stderr.trim().split('\n').pop()}`));
  });
  return out;
}

function hashTap(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

it('pg_basebackup → age → S3 multipart → age -d / ours → identical bytes → restored rows equal the source', async () => {
  const c = cluster();
  await c.query(`CREATE TABLE marker AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g`);
  await c.query(`CREATE TABLE blob AS SELECT g AS id, decode(string_agg(md5(random()::text), ''), 'hex') AS b FROM generate_series(1, 20) g, generate_series(1, 4000) x GROUP BY g`);
  const source = { marker: await tableChecksum(c.connectionString(), 'marker'), blob: await tableChecksum(c.connectionString(), 'blob') };

  const { identity, secret } = generateIdentity();
  const keyFile = join(work, 'key.txt');
  await writeFile(keyFile, `${secret}\n`, { mode: 0o600 });
  const backend = new S3Backend('s3://pgbackups/cluster-a', { partSize: MIN_PART_SIZE, queueSize: 2 });
  await backend.check();

  // Backup: the tar goes to stdout and is never staged on local disk.
  const original = createHash('sha256');
  const tar = toolOutput(pgTool('pg_basebackup'), [
    '-D', '-', '-Ft', '-Xfetch', '--checkpoint=fast', '--manifest-checksums=SHA256',
    '-U', 'postgres', '-h', c.socketDir, '-p', String(c.port),
  ]);
  const encrypted = pipeline(tar, hashTap(original), encryptStream([identity.recipient]), () => {});
  let acks = 0;
  const put = await backend.put('backups/b1/base.tar.age', encrypted, { onProgress: () => acks++ });
  const originalSha = original.digest('hex');
  console.log(`[s3] base backup: ${put.bytes} encrypted bytes in ${acks} part acknowledgements, original sha256 ${originalSha}`);
  expect(put.bytes).toBeGreaterThan(3 * MIN_PART_SIZE); // a real multipart upload
  expect(acks).toBeGreaterThan(3);

  // Back with our decryption.
  const restoreSrc = join(work, 'from-s3');
  await mkdir(restoreSrc);
  const back = createHash('sha256');
  await pipelineAsync(await backend.get('backups/b1/base.tar.age'), decryptStream({ identities: [identity], expectedFingerprint: identity.fingerprint }), hashTap(back), createWriteStream(join(restoreSrc, 'base.tar')));
  expect(back.digest('hex')).toBe(originalSha);

  // And with the age CLI, as an operator would in an emergency.
  const agePath = join(work, 'base.tar.age');
  await pipelineAsync(await backend.get('backups/b1/base.tar.age'), createWriteStream(agePath));
  const d = spawnSync('age', ['-d', '-i', keyFile, agePath], { maxBuffer: 1 << 30 });
  expect(d.status, d.stderr?.toString()).toBe(0);
  expect(createHash('sha256').update(d.stdout).digest('hex')).toBe(originalSha);

  const members = spawnSync('tar', ['-tf', join(restoreSrc, 'base.tar')], { encoding: 'utf8' }).stdout.split('\n');
  expect(members).toContain('PG_VERSION');
  expect(members).toContain('backup_manifest');

  // The server writes its log beside its data directory: a directory of its own.
  const restoreDir = await postgresDir(join(work, 'restore'));
  restored = await restoreBackup(restoreSrc, join(restoreDir, 'data'), join(restoreDir, 'sock'));
  expect({ marker: await tableChecksum(restored.url(), 'marker'), blob: await tableChecksum(restored.url(), 'blob') }).toEqual(source);
  expect(source.marker.rows).toBe(200000);
});
