// What both backup verifiers share: the result shape, pg_verifybackup's
// ignore list, and how a tar-format backup directory is laid out.
import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';

export interface VerifyResult {
  ok: boolean;
  /** One line per problem; each names the file (or WAL range) concerned. */
  problems: string[];
  filesChecked: number;
  bytesChecked: number;
}

/**
 * pg_verifybackup's built-in ignore list: the manifest itself, WAL (checked by
 * parsing instead), and files pg_basebackup -R may create or change.
 */
export const VERIFY_IGNORE = ['backup_manifest', 'pg_wal', 'postgresql.auto.conf', 'recovery.signal', 'standby.signal'] as const;

/** Same rule as should_ignore_relpath(): an entry or any parent directory of the path. */
export function shouldIgnore(relpath: string, ignore: readonly string[] = VERIFY_IGNORE): boolean {
  return ignore.some((i) => relpath === i || relpath.startsWith(`${i}/`));
}

export type ArchiveRole = 'base' | 'wal' | 'tablespace';

export interface BackupArchive {
  name: string;
  path: string;
  role: ArchiveRole;
  /** For tablespace archives (`<oid>.tar`). */
  tablespaceOid?: number;
  compressed: boolean;
  /** The stored bytes, when they are not a local file at `path` (an object in an off-host repository). */
  open?: () => Promise<Readable>;
}

/**
 * Tar archives in a backup directory as pg_basebackup -Ft names them:
 * base.tar, pg_wal.tar and <tablespace oid>.tar, each optionally .zst.
 * Other tar-looking names are problems; unrelated files are left alone.
 */
export async function findArchives(dir: string): Promise<{ archives: BackupArchive[]; problems: string[] }> {
  return classifyArchives(await readdir(dir), dir);
}

/** findArchives over the names a directory or an object prefix holds; `path` is `<dir>/<name>`. */
export function classifyArchives(names: readonly string[], dir: string): { archives: BackupArchive[]; problems: string[] } {
  const archives: BackupArchive[] = [];
  const problems: string[] = [];
  for (const name of [...names].sort()) {
    const m = /^(base|pg_wal|[0-9]+)\.tar(\.[A-Za-z0-9]+)?$/.exec(name);
    if (!m) {
      if (/\.tar(\.|$)/.test(name)) problems.push(`file "${name}" is not expected in a tar format backup`);
      continue;
    }
    const suffix = m[2];
    if (suffix !== undefined && suffix !== '.zst') {
      problems.push(`file "${name}": compression "${suffix.slice(1)}" is not supported (only zstd)`);
      continue;
    }
    const stem = m[1]!;
    const oid = /^[0-9]+$/.test(stem) ? Number(stem) : undefined;
    if (oid !== undefined && (oid <= 0 || oid > 0xffffffff)) {
      problems.push(`file "${name}" is not expected in a tar format backup`);
      continue;
    }
    archives.push({
      name,
      path: `${dir}/${name}`,
      role: stem === 'base' ? 'base' : stem === 'pg_wal' ? 'wal' : 'tablespace',
      tablespaceOid: oid,
      compressed: suffix === '.zst',
    });
  }
  const bases = archives.filter((a) => a.role === 'base');
  if (bases.length === 0) problems.push(`no base.tar or base.tar.zst in ${dir}`);
  if (bases.length > 1) problems.push(`both ${bases.map((b) => b.name).join(' and ')} in ${dir}`);
  return { archives, problems };
}

/** `<repo>/<sysid>/backups/<bk>` tells which cluster the backup must belong to. */
export function systemIdentifierFromBackupPath(dir: string): string | undefined {
  const backups = dirname(dir);
  const sysid = basename(dirname(backups));
  return basename(backups) === 'backups' && /^[0-9]{1,20}$/.test(sysid) ? sysid : undefined;
}
