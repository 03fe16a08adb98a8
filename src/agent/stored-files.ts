// What a backup directory holds, with the SHA-256 of every stored byte, so the
// catalog can later prove the repository still has exactly these files.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../storage/wal-store.js';
import type { StoredFile } from './protocol.js';

export async function describeStoredFiles(dir: string): Promise<StoredFile[]> {
  const out: StoredFile[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await stat(path);
    if (!st.isFile()) throw new Error(`${path}: unexpected non-file in a tar-format backup`);
    const { sha256, bytes } = await sha256File(path);
    if (bytes !== st.size) throw new Error(`${path} changed while being checksummed`);
    out.push({ name, bytes, sha256 });
  }
  return out;
}
