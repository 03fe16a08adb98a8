// What an off-host repository's WAL archive holds: listArchivedWal (wal-list.ts)
// for a SealedStore, for the disaster-recovery planner and `repo window` on a
// repository that may be s3://…. Names come from the object keys (the
// SHA-256 is in them), so listing reads no object.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseStoredWalName, walRoot, walSubdir, walTimeline } from './layout.js';
import type { SealedStore } from './offsite/sealed.js';
import type { ArchivedWal } from './wal-list.js';

export interface OffsiteArchivedWal extends ArchivedWal {
  /** The object's key in `store` (what get() takes). storedPath is `<location>/<key>`, for messages. */
  key: string;
}

/**
 * The archived WAL of `systemIdentifier` in `store`, sorted by name, like
 * listArchivedWal. storedBytes is what the repository holds (ciphertext when
 * encrypted); mtime is the object's time (the epoch when the store gives none).
 */
export async function listArchivedWalOffsite(store: SealedStore, systemIdentifier: string): Promise<OffsiteArchivedWal[]> {
  const root = walRoot('', systemIdentifier);
  const out: OffsiteArchivedWal[] = [];
  for await (const o of store.list(`${root}/`)) {
    const parts = o.key.slice(root.length + 1).split('/');
    if (parts.length !== 2) continue;
    const [sub, storedName] = parts as [string, string];
    const p = parseStoredWalName(storedName);
    if (!p || walSubdir(p.fileName) !== sub) continue; // strays
    out.push({
      fileName: p.fileName,
      kind: p.kind,
      timeline: walTimeline(p.fileName),
      sha256: p.sha256,
      storedBytes: o.size,
      mtime: o.modified ?? new Date(0),
      storedPath: `${store.location}/${o.key}`,
      key: o.key,
    });
  }
  return out.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
}

/**
 * The stored form (`.zst`) of an off-host WAL file as a local file, decrypted
 * and authenticated: what the local readers (readStoredVerified,
 * segmentCommitTimes, decompressStoredVerified) take. Nothing is left at
 * `destPath` when decryption fails.
 */
export async function copyStoredWalOffsite(store: SealedStore, w: Pick<OffsiteArchivedWal, 'key'>, destPath: string): Promise<void> {
  try {
    await pipeline(await store.get(w.key), createWriteStream(destPath, { mode: 0o600 }));
  } catch (e) {
    await rm(destPath, { force: true });
    throw e;
  }
}
