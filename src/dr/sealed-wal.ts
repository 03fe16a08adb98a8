// Archived WAL in an off-host repository, for disaster recovery: the listing
// (keys `<sysid>/wal/<16 hex>/<name>-<sha256>.zst`, stored as `….age`), and
// one stored file brought to a local scratch or spool file. The decrypted
// bytes are the local repository's stored form (zstd), so the proof against
// the SHA-256 in the name is the local one (decompressStoredVerified).
//
// Minimal on purpose: s3wal's WAL listing in src/storage/ replaces
// listSealedWal when it lands (same result shape as listArchivedWal).
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { segmentCommitTimes, type CommitTimes } from '../agent/wal-commit-times.js';
import { parseStoredWalName, walDirFor, walRoot, walSubdir, walTimeline } from '../storage/layout.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import type { ArchivedWal } from '../storage/wal-list.js';
import { decompressStoredVerified } from '../storage/wal-store.js';
import { spoolOne } from '../agent/wal-prefetch.js';

/** Every archived WAL file of `sysid` in the store; `storedPath` is the object's key. */
export async function listSealedWal(store: SealedStore, sysid: string): Promise<ArchivedWal[]> {
  const root = walRoot('', sysid);
  const out: ArchivedWal[] = [];
  for await (const o of store.list(`${root}/`)) {
    const parts = o.key.slice(root.length + 1).split('/');
    if (parts.length !== 2) continue;
    const p = parseStoredWalName(parts[1]!);
    if (!p || walSubdir(p.fileName) !== parts[0]) continue;
    out.push({ fileName: p.fileName, kind: p.kind, timeline: walTimeline(p.fileName), sha256: p.sha256, storedBytes: o.size, mtime: o.modified ?? new Date(0), storedPath: o.key });
  }
  return out.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
}

/** The stored (compressed) bytes of `w`, decrypted into `dir`; its name is the stored name. */
async function download(store: SealedStore, w: ArchivedWal, dir: string): Promise<string> {
  const path = join(dir, basename(w.storedPath));
  // The decrypting stream errors on tampering: the file counts only once the pipeline ended.
  await pipeline(await store.get(w.storedPath), createWriteStream(path, { mode: 0o600 }));
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
