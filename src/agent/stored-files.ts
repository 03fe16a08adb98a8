// What a backup directory holds, with the SHA-256 of every stored byte, so the
// catalog can later prove the repository still has exactly these files.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FollowedFile } from '../storage/follow-hash.js';
import { sha256File } from '../storage/wal-store.js';
import type { StoredFile } from './protocol.js';

/**
 * Archives pg_basebackup only ever appends to, so they can be hashed while
 * written: base.tar and the tablespaces' <oid>.tar, compressed or not. Not
 * pg_wal.tar (-X stream's tar method goes back to fix headers) nor the
 * manifest (written under a temporary name, then renamed).
 */
export function isAppendOnlyArchive(name: string): boolean {
  return /^(base|[0-9]+)\.tar(\.(zst|gz|lz4))?$/.test(name);
}

/** `known`: checksums already proven while the files were written (followDirectory). */
export async function describeStoredFiles(dir: string, known: ReadonlyMap<string, FollowedFile> = new Map()): Promise<StoredFile[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const st = await stat(path);
      if (!st.isFile()) throw new Error(`${path}: unexpected non-file in a tar-format backup`);
      const followed = known.get(name);
      if (followed && followed.bytes === st.size) return { name, bytes: followed.bytes, sha256: followed.sha256 };
      const { sha256, bytes } = await sha256File(path);
      if (bytes !== st.size) throw new Error(`${path} changed while being checksummed`);
      return { name, bytes, sha256 };
    }),
  );
}
