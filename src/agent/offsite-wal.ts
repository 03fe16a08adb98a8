// An incremental whose chain lives in the off-host repository: the WAL range
// it proved in the local repository is stored there too, under the same keys
// (layout.ts with repo ''), encrypted. Segments already there (wal-push to the
// off-host repository, an earlier incremental) are not sent again: the key
// carries the content's SHA-256, so an existing key is the same bytes.
import { createReadStream } from 'node:fs';
import { StorageError } from '../storage/backends/types.js';
import { storedWalName, walDirFor } from '../storage/layout.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import type { ArchivedWal } from '../storage/wal-list.js';
import { JobFailure } from './job-context.js';

export interface RangeStored {
  /** Segments uploaded now. */
  uploaded: number;
  /** Segments the off-host repository already held. */
  present: number;
  bytes: number;
}

/** Store `names` (each must be in `archived`) under `<sysid>/wal/…` of `store`. */
export async function storeWalRange(
  store: SealedStore,
  sysid: string,
  names: readonly string[],
  archived: readonly ArchivedWal[],
  onSegment?: (done: number, total: number) => void,
): Promise<RangeStored> {
  const byName = new Map<string, ArchivedWal>();
  for (const w of archived) if (!byName.has(w.fileName)) byName.set(w.fileName, w);
  const out: RangeStored = { uploaded: 0, present: 0, bytes: 0 };
  for (const [i, name] of names.entries()) {
    const w = byName.get(name);
    if (!w) throw new JobFailure(`WAL segment ${name} is not in the local repository: cannot store it in the off-host repository`);
    const key = `${walDirFor('', sysid, name)}/${storedWalName(name, w.sha256)}`;
    try {
      if (await store.exists(key)) {
        out.present++;
      } else {
        const r = await store.put(key, createReadStream(w.storedPath));
        out.uploaded++;
        out.bytes += r.bytes;
      }
    } catch (e) {
      if (e instanceof StorageError) throw new JobFailure(`storing WAL ${name} in the off-host repository failed: ${e.message}`, e.code === 'unreachable');
      throw e;
    }
    onSegment?.(i + 1, names.length);
  }
  return out;
}
