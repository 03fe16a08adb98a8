// `backup-mgmt repo verify`: every stored backup against the SHA-256 its
// metadata recorded and against its backup_manifest, and every archived WAL
// file against the SHA-256 in its name. Names each damaged file.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sha256File } from '../storage/wal-store.js';
import { verifyStoredBackup } from '../storage/verify-tar.js';
import { readStoredVerified } from '../storage/wal-store.js';
import { loadRepository } from './offline-restore.js';

export interface VerifyReport {
  system_identifier: string;
  backups_checked: number;
  wal_files_checked: number;
  problems: { file: string; problem: string }[];
}

export async function verifyRepository(repo: string, sysid?: string): Promise<VerifyReport> {
  const r = await loadRepository(repo, sysid);
  const report: VerifyReport = { system_identifier: r.sysid, backups_checked: 0, wal_files_checked: 0, problems: [] };
  const rel = (p: string) => relative(repo, p);
  for (const b of r.backups) {
    if (b.type !== 'FULL' || b.files_present === false || b.path === null || b.status !== 'COMPLETED') continue;
    const dir = r.store.resolve(b.path);
    report.backups_checked++;
    if (!existsSync(dir)) {
      report.problems.push({ file: rel(dir), problem: `backup ${b.backup_bk}: its directory is missing` });
      continue;
    }
    let intact = true;
    for (const f of b.files ?? []) {
      const p = join(dir, f.name);
      if (!existsSync(p)) {
        report.problems.push({ file: rel(p), problem: `backup ${b.backup_bk}: file missing` });
        intact = false;
        continue;
      }
      if (!f.sha256) continue;
      const got = await sha256File(p);
      if (got.sha256 !== f.sha256) {
        report.problems.push({ file: rel(p), problem: `backup ${b.backup_bk}: SHA-256 ${got.sha256}, recorded ${f.sha256}` });
        intact = false;
      }
    }
    if (!intact) continue;
    const v = await verifyStoredBackup(dir, { expectedSystemIdentifier: r.sysid });
    if (!v.ok) report.problems.push({ file: rel(dir), problem: `backup ${b.backup_bk}: ${v.problems.slice(0, 3).join('; ')}` });
  }
  for (const w of r.wal.all) {
    report.wal_files_checked++;
    try {
      for await (const _chunk of readStoredVerified(w.storedPath, w.sha256)) {
        // Reading is the check.
      }
    } catch (e) {
      report.problems.push({ file: rel(w.storedPath), problem: `WAL ${w.fileName}: ${(e as Error).message}` });
    }
  }
  return report;
}
