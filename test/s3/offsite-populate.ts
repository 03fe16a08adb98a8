// Fills an off-host repository from a real local one with exactly the key
// layout of S3-DESIGN.md: every backup's files and every archived WAL file
// through SealedStore (encrypted, `<key>.age`), the metadata as plain JSON
// under the same keys as locally, and a format file naming the key's
// fingerprint. It stands in for the S3 backup path of the other branches
// (the lead's end-to-end test replaces it with the real one).
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { backupDir, listSystemIdentifiers } from '../../src/storage/layout.js';
import type { SealedStore } from '../../src/storage/offsite/sealed.js';
import { openRepository } from '../../src/storage/repo-metadata.js';
import { listArchivedWal } from '../../src/storage/wal-list.js';

export interface Populated {
  backups: string[];
  files: number;
  walFiles: number;
}

export async function populateOffsite(localRepo: string, store: SealedStore): Promise<Populated> {
  const local = openRepository(localRepo);
  const remote = openRepository(store.location);
  await remote.ensureFormat({ encryption: { format: 'age-v1', recipients: [...store.encryption!.fingerprints] } });
  const out: Populated = { backups: [], files: 0, walFiles: 0 };
  for (const sysid of await listSystemIdentifiers(localRepo)) {
    for (const meta of await local.listBackups(sysid)) {
      const dir = backupDir(localRepo, sysid, meta.backup_bk);
      for (const name of (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'))) {
        const put = await store.put(`${backupDir('', sysid, meta.backup_bk)}/${name}`, createReadStream(join(dir, name)));
        const recorded = meta.files?.find((f) => f.name === name)?.sha256;
        if (recorded && recorded !== put.sha256) throw new Error(`${name} of ${meta.backup_bk}: stored ${put.sha256}, recorded ${recorded}`);
        out.files++;
      }
      await remote.writeBackup(meta);
      out.backups.push(meta.backup_bk);
    }
    for (const p of await local.listRestorePoints(sysid)) await remote.writeRestorePoint(p);
    for (const w of await listArchivedWal({ repo: localRepo, systemIdentifier: sysid })) {
      await store.put(relative(localRepo, w.storedPath), createReadStream(w.storedPath));
      out.walFiles++;
    }
  }
  return out;
}
