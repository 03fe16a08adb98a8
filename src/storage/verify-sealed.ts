// Verify a backup stored in an (encrypted) object store: the same checks as
// a local directory's (verify-tar.ts), with every object streamed back,
// decrypted and authenticated on the way. A tampered or truncated object, or
// a wrong key, fails the stream and so the verification, naming the archive.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { MANIFEST_NAME } from './layout.js';
import type { SealedStore } from './offsite/sealed.js';
import { classifyArchives, type BackupArchive, type VerifyResult } from './verify-common.js';
import { verifyWithManifest, type ArchiveStream, type VerifyStoredOptions } from './verify-tar.js';
import { spawnZstd } from './zstd.js';

/** Everything a stream yields (small objects only: the manifest). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** One archive object as tar bytes: decrypted, then decompressed by `zstd -dc` when it is .zst. */
async function openSealedArchive(store: SealedStore, a: BackupArchive): Promise<ArchiveStream> {
  const plain = await store.get(a.path);
  if (!a.compressed) {
    const ended = new Promise<void>((resolve, reject) => {
      plain.on('end', resolve);
      plain.on('error', reject);
    });
    ended.catch(() => {});
    return { source: plain, done: ended, stop: () => plain.destroy() };
  }
  const z = spawnZstd(['-q', '-d', '-c']);
  // A decryption failure (tampering, wrong key) is the cause; zstd's complaint about its cut input is not.
  const feeding = pipeline(plain, z.stdin).catch((e: Error) => {
    z.kill();
    throw e;
  });
  feeding.catch(() => {});
  const done = feeding.then(() => z.done);
  done.catch(() => {});
  return {
    source: z.stdout,
    done,
    stop: () => {
      plain.destroy();
      z.kill();
    },
  };
}

/**
 * Verify the backup whose objects lie under `prefix` (`<sysid>/backups/<bk>`)
 * in `store`; `where` (its s3:// location) names it in messages.
 */
export async function verifySealedBackup(store: SealedStore, prefix: string, where: string, opts: VerifyStoredOptions = {}): Promise<VerifyResult> {
  const fail = (problem: string): VerifyResult => ({ ok: false, problems: [problem], filesChecked: 0, bytesChecked: 0 });
  let manifest: Buffer;
  try {
    manifest = await readAll(await store.get(`${prefix}/${MANIFEST_NAME}`));
  } catch (e) {
    return fail(`${MANIFEST_NAME}: could not read: ${(e as Error).message}`);
  }
  const names: string[] = [];
  for await (const o of store.list(`${prefix}/`)) {
    const name = o.key.slice(prefix.length + 1);
    if (!name.includes('/')) names.push(name);
  }
  const { archives, problems } = classifyArchives(names, prefix);
  return verifyWithManifest(where, manifest, { ...opts, source: { archives, problems, open: (a) => openSealedArchive(store, a) } });
}
