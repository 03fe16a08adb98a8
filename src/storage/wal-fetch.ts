// restore_command: `backup-mgmt wal-fetch %f %p`. A missing file is a normal
// answer (PostgreSQL probes for files that do not exist); a damaged one is an
// error. The local repository is asked first; what it lacks (or all of it,
// when it is gone) comes from the off-host repository when one is configured.
import { dirname, join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { adoptTemp, tempName } from './fsync.js';
import { assertSystemIdentifier, assertWalFileName, soleSystemIdentifier, walDirFor } from './layout.js';
import type { SealedStore } from './offsite/sealed.js';
import { decompressStoredVerified, storedVersions, type StoredVersion } from './wal-store.js';

export interface WalFetchOptions {
  repo: string;
  /** Defaults to the repository's only `<sysid>` directory. */
  systemIdentifier?: string;
  /** %f */
  fileName: string;
  /** %p: relative to `cwd` (the data directory during recovery). */
  destPath: string;
  cwd?: string;
  /** The off-host repository; default: the one the environment names (openWalOffsite), opened only when needed. */
  offsite?: () => Promise<SealedStore | undefined>;
}

export type WalFetchResult =
  | { found: false }
  | { found: true; sha256: string; bytes: number; storedPath: string; systemIdentifier: string };

async function localVersion(repo: string, sysid: string, fileName: string): Promise<StoredVersion | undefined> {
  const versions = await storedVersions(walDirFor(repo, sysid, fileName), fileName);
  if (versions.length > 1) {
    // wal-push never stores two versions; guessing which one is right could corrupt a restore.
    throw new Error(`${fileName} has ${versions.length} stored versions: ${versions.map((v) => v.storedPath).join(', ')}`);
  }
  return versions[0];
}

async function fetchLocal(v: StoredVersion, dest: string): Promise<number> {
  // zstd writes the temporary file itself; it gets its final name only once proven and durable.
  const tmp = join(dirname(dest), tempName());
  try {
    await decompressStoredVerified(v.storedPath, v.sha256, tmp);
    const done = await adoptTemp(tmp);
    await done.commit(dest);
    return done.bytes;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function defaultOffsite(): Promise<SealedStore | undefined> {
  return (await import('./wal-offsite.js')).openWalOffsite();
}

export async function walFetch(opts: WalFetchOptions): Promise<WalFetchResult> {
  assertWalFileName(opts.fileName);
  const systemIdentifier = opts.systemIdentifier ?? (await soleSystemIdentifier(opts.repo));
  assertSystemIdentifier(systemIdentifier);
  const dest = resolve(opts.cwd ?? process.cwd(), opts.destPath);
  // The segment the WAL receiver was writing when the stream ended: its
  // stored `.partial` is a prefix of the segment followed by zeros, where
  // replay ends. It is the newest WAL there is (a restore to `latest`); a
  // complete segment in either repository is preferred to it.
  const names = opts.fileName.length === 24 ? [opts.fileName, `${opts.fileName}.partial`] : [opts.fileName];
  let offsite: SealedStore | undefined | null = null;
  for (const name of names) {
    const v = await localVersion(opts.repo, systemIdentifier, name);
    if (v) return { found: true, sha256: v.sha256, bytes: await fetchLocal(v, dest), storedPath: v.storedPath, systemIdentifier };
    if (offsite === null) offsite = await (opts.offsite ?? defaultOffsite)();
    if (!offsite) continue;
    const got = await fetchOffsite(offsite, systemIdentifier, name, dest);
    if (got) return { found: true, ...got, systemIdentifier };
  }
  return { found: false };
}

/**
 * From the off-host repository, or undefined when it has no version. The
 * streaming receiver replaces a `.partial` by putting the new snapshot and
 * deleting the old: one deleted between our listing and our read is listed
 * again, not taken for damage.
 */
async function fetchOffsite(offsite: SealedStore, sysid: string, name: string, dest: string): Promise<{ sha256: string; bytes: number; storedPath: string } | undefined> {
  const w = await import('./wal-offsite.js');
  const { StorageError } = await import('./backends/types.js');
  for (let attempt = 1; ; attempt++) {
    const v = w.pickOffsiteVersion(name, await w.offsiteVersions(offsite, sysid, name), offsite.location);
    if (!v) return undefined;
    try {
      const { bytes } = await w.fetchWalOffsite(offsite, v, dest);
      return { sha256: v.sha256, bytes, storedPath: `${offsite.location}/${v.key}` };
    } catch (e) {
      if (!(e instanceof StorageError && e.code === 'not_found') || attempt >= 3) throw e;
    }
  }
}
