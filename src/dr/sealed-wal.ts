// Archived WAL in an off-host repository, for disaster recovery: one stored
// file (listed by listArchivedWalOffsite) brought to a local scratch or spool
// file. The decrypted bytes are the local repository's stored form (zstd), so
// the proof against the SHA-256 in the name is the local one.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { segmentCommitTimes, type CommitTimes } from '../agent/wal-commit-times.js';
import { walDirFor } from '../storage/layout.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import type { ArchivedWal } from '../storage/wal-list.js';
import { copyStoredWalOffsite } from '../storage/wal-list-offsite.js';
import { decompressStoredVerified } from '../storage/wal-store.js';
import { spoolOne } from '../agent/wal-prefetch.js';

/** The key of a file listed by listArchivedWalOffsite (its storedPath is `<location>/<key>`). */
function offsiteKey(store: SealedStore, w: ArchivedWal): string {
  const prefix = `${store.location}/`;
  if (!w.storedPath.startsWith(prefix)) throw new Error(`${w.storedPath} is not in ${store.location}`);
  return w.storedPath.slice(prefix.length);
}

/** The stored (compressed) bytes of `w`, decrypted into `dir`; its name is the stored name. */
async function download(store: SealedStore, w: ArchivedWal, dir: string): Promise<string> {
  const key = offsiteKey(store, w);
  const path = join(dir, basename(key));
  await copyStoredWalOffsite(store, { key }, path);
  return path;
}

/** Decrypted, decompressed and proven against its name into `dest`. */
export async function fetchSealedWal(store: SealedStore, w: ArchivedWal, dest: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'bm-s3-wal-'));
  try {
    await decompressStoredVerified(await download(store, w, scratch), w.sha256, dest);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Commit times of a segment in the store (pg_waldump on a verified scratch copy, as the agent registers it). */
export async function sealedCommitTimes(store: SealedStore, w: ArchivedWal): Promise<CommitTimes> {
  const scratch = await mkdtemp(join(tmpdir(), 'bm-s3-wal-'));
  try {
    return await segmentCommitTimes(await download(store, w, scratch), w.sha256, w.fileName);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * One WAL file into the restore's spool. The decrypted object is the local
 * stored form, so it goes into a scratch repository of one file and the
 * local read-ahead's spoolOne does the rest (proof, flush, owner, rename).
 */
export async function spoolSealedWal(store: SealedStore, w: ArchivedWal, spoolDir: string, sysid: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'bm-s3-wal-'));
  try {
    const dir = walDirFor(scratch, sysid, w.fileName);
    await mkdir(dir, { recursive: true });
    await download(store, w, dir);
    const opts = { repo: scratch, systemIdentifier: sysid, fromSegment: w.fileName, toSegment: w.fileName, spoolDir, signal: new AbortController().signal, onError: () => {} };
    if (!(await spoolOne(opts, w.fileName, 0))) throw new Error(`${w.storedPath}: not spooled`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
