// Archived WAL in the off-host repository (S3, encrypted): the same stored
// bytes (zstd) under the same relative key as the local file
// (`<sysid>/wal/<16 hex>/<name>-<sha256>.zst`, stored as `<key>.age`), so one
// proof works for both: decrypt and authenticate, then zstd -d and the
// SHA-256 in the name. archive_command loads this once per WAL file: the
// configuration and the SDK are imported only when an off-host repository
// is configured.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SealedStore } from './offsite/sealed.js';
import { adoptTemp, tempName } from './fsync.js';
import { parseStoredWalName, storedWalName, walDirFor } from './layout.js';
import { CorruptWalError, sha256File } from './wal-store.js';
import { spawnZstd } from './zstd.js';

/** The off-host repository named by the environment (a `--config` file may have filled it), or undefined. */
export async function openWalOffsite(env: NodeJS.ProcessEnv = process.env): Promise<SealedStore | undefined> {
  if (!env.BACKUP_MGMT_REPO_S3?.trim()) return undefined;
  const { offsiteConfig, openOffsite } = await import('./offsite/index.js');
  const cfg = offsiteConfig(env);
  return cfg && openOffsite(cfg);
}

let shared: Promise<SealedStore | undefined> | undefined;

/** openWalOffsite() once per process (the agent's streaming receiver and read-ahead). */
export function sharedWalOffsite(): Promise<SealedStore | undefined> {
  shared ??= openWalOffsite();
  // A configuration error is reported by each caller; the next call tries again.
  shared.catch(() => (shared = undefined));
  return shared;
}

/** Where a stored WAL file lives relative to any repository's root. */
export function walKey(systemIdentifier: string, fileName: string, sha256: string): string {
  return `${walDirFor('', systemIdentifier, fileName)}/${storedWalName(fileName, sha256)}`;
}

export interface OffsiteWalVersion {
  key: string;
  sha256: string;
  /** Bytes the off-host repository holds (ciphertext). */
  size: number;
  modified?: Date;
}

/** Stored versions of `fileName` in the off-host repository (one list request). */
export async function offsiteVersions(store: SealedStore, systemIdentifier: string, fileName: string): Promise<OffsiteWalVersion[]> {
  const dir = walDirFor('', systemIdentifier, fileName);
  const out: OffsiteWalVersion[] = [];
  for await (const o of store.list(`${dir}/${fileName}-`)) {
    const p = parseStoredWalName(o.key.slice(dir.length + 1));
    if (p && p.fileName === fileName) out.push({ key: o.key, sha256: p.sha256, size: o.size, modified: o.modified });
  }
  return out;
}

export interface WalOffsitePush {
  key: string;
  /** The object was there already (its name carries the SHA-256: the same bytes). */
  alreadyPresent: boolean;
}

/** Put a locally stored WAL file (its `.zst` as is) into the off-host repository. */
export async function pushWalOffsite(
  store: SealedStore,
  stored: { systemIdentifier: string; fileName: string; sha256: string; storedPath: string },
): Promise<WalOffsitePush> {
  const key = walKey(stored.systemIdentifier, stored.fileName, stored.sha256);
  if (await store.exists(key)) return { key, alreadyPresent: true };
  await store.put(key, createReadStream(stored.storedPath, { highWaterMark: 1 << 20 }));
  return { key, alreadyPresent: false };
}

/**
 * The version to read, or undefined when there is none. Two versions of a
 * segment are refused as locally; of a `.partial` (the streaming receiver
 * replaces its snapshot: put the new, then delete the old) the newest is the
 * longest prefix of the segment, and any of them replays correctly.
 */
export function pickOffsiteVersion(fileName: string, versions: readonly OffsiteWalVersion[], location: string): OffsiteWalVersion | undefined {
  if (versions.length <= 1) return versions[0];
  if (fileName.endsWith('.partial')) return [...versions].sort((a, b) => (b.modified?.getTime() ?? 0) - (a.modified?.getTime() ?? 0))[0];
  throw new Error(`${fileName} has ${versions.length} stored versions in ${location}: ${versions.map((v) => v.key).join(', ')}`);
}

/**
 * Decrypt an off-host WAL object straight into zstd, which writes `destPath`;
 * the copy counts only once decryption ended authenticated, zstd exited 0
 * and the SHA-256 equals the name's (CorruptWalError otherwise, the copy
 * removed).
 */
export async function fetchWalOffsite(store: SealedStore, version: Pick<OffsiteWalVersion, 'key' | 'sha256'>, destPath: string): Promise<{ bytes: number }> {
  const where = `${store.location}/${version.key}`;
  const tmp = join(dirname(destPath), tempName());
  const z = spawnZstd(['-q', '-d', '-f', '-o', tmp, '-']);
  try {
    try {
      await pipeline(await store.get(version.key), z.stdin);
    } catch (e) {
      // zstd gave up on the data (its stdin closed): its own reason says more.
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') await z.done.catch((ze: Error) => Promise.reject(new CorruptWalError(where, ze.message)));
      // A wrong key or tampering (AgeError), an unreachable repository: one line, not "corrupt WAL".
      throw e;
    }
    try {
      await z.done;
    } catch (e) {
      throw new CorruptWalError(where, (e as Error).message);
    }
    const copy = await sha256File(tmp);
    if (copy.sha256 !== version.sha256) throw new CorruptWalError(where, `content has sha256 ${copy.sha256}, its name says ${version.sha256}`);
    const done = await adoptTemp(tmp);
    await done.commit(destPath);
    return { bytes: done.bytes };
  } catch (e) {
    z.kill();
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Remove every off-host version of `fileName` but `keepSha256` (the streaming receiver's superseded `.partial`s). */
export async function dropOffsiteVersions(store: SealedStore, systemIdentifier: string, fileName: string, keepSha256?: string): Promise<void> {
  for (const v of await offsiteVersions(store, systemIdentifier, fileName)) if (v.sha256 !== keepSha256) await store.delete(v.key);
}
