// restore_command: `backup-mgmt wal-fetch %f %p`. A missing file is a normal
// answer (PostgreSQL probes for files that do not exist); a damaged one is an error.
import { dirname, join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { adoptTemp, tempName } from './fsync.js';
import { assertSystemIdentifier, assertWalFileName, soleSystemIdentifier, walDirFor } from './layout.js';
import { decompressStoredVerified, storedVersions } from './wal-store.js';

export interface WalFetchOptions {
  repo: string;
  /** Defaults to the repository's only `<sysid>` directory. */
  systemIdentifier?: string;
  /** %f */
  fileName: string;
  /** %p: relative to `cwd` (the data directory during recovery). */
  destPath: string;
  cwd?: string;
}

export type WalFetchResult =
  | { found: false }
  | { found: true; sha256: string; bytes: number; storedPath: string; systemIdentifier: string };

export async function walFetch(opts: WalFetchOptions): Promise<WalFetchResult> {
  assertWalFileName(opts.fileName);
  const systemIdentifier = opts.systemIdentifier ?? (await soleSystemIdentifier(opts.repo));
  assertSystemIdentifier(systemIdentifier);
  let versions = await storedVersions(walDirFor(opts.repo, systemIdentifier, opts.fileName), opts.fileName);
  if (versions.length === 0 && opts.fileName.length === 24) {
    // The segment the WAL receiver was writing when the stream ended: its
    // stored `.partial` is a prefix of the segment followed by zeros, where
    // replay ends. It is the newest WAL there is (a restore to `latest`).
    const partial = `${opts.fileName}.partial`;
    versions = await storedVersions(walDirFor(opts.repo, systemIdentifier, partial), partial);
  }
  if (versions.length === 0) return { found: false };
  if (versions.length > 1) {
    // wal-push never stores two versions; guessing which one is right could corrupt a restore.
    throw new Error(`${opts.fileName} has ${versions.length} stored versions: ${versions.map((v) => v.storedPath).join(', ')}`);
  }
  const v = versions[0]!;
  const dest = resolve(opts.cwd ?? process.cwd(), opts.destPath);
  // zstd writes the temporary file itself; it gets its final name only once proven and durable.
  const tmp = join(dirname(dest), tempName());
  try {
    await decompressStoredVerified(v.storedPath, v.sha256, tmp);
    const done = await adoptTemp(tmp);
    await done.commit(dest);
    return { found: true, sha256: v.sha256, bytes: done.bytes, storedPath: v.storedPath, systemIdentifier };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
