// Where things live in a repository, and which names are acceptable there.
//
//   <repo>/<sysid>/backups/<backupBk>/{base.tar.zst|base.tar, backup_manifest}
//   <repo>/<sysid>/staging/<backupBk>.<random>/
//   <repo>/<sysid>/wal/<TLI+log, 16 hex>/<walFileName>-<sha256>.zst
//   <repo>/<sysid>/wal/history/<TLI>.history-<sha256>.zst
//
// The SHA-256 of the original bytes is part of the stored name so that a
// re-push can be judged identical or conflicting from a directory listing.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export const BASE_TAR_NAMES = ['base.tar.zst', 'base.tar'] as const;
export const MANIFEST_NAME = 'backup_manifest';
export const STORED_WAL_SUFFIX = '.zst';
export const HISTORY_DIR = 'history';

const SYSID_RE = /^[0-9]{1,20}$/;
const BACKUP_BK_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export type WalFileKind = 'segment' | 'partial' | 'backup' | 'history';

const WAL_NAME_PATTERNS: ReadonlyArray<[WalFileKind, RegExp]> = [
  ['segment', /^[0-9A-F]{24}$/],
  ['partial', /^[0-9A-F]{24}\.partial$/],
  ['backup', /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/],
  ['history', /^[0-9A-F]{8}\.history$/],
];

/** What kind of archivable WAL file `name` is, or undefined for anything else. */
export function walFileKind(name: string): WalFileKind | undefined {
  for (const [kind, re] of WAL_NAME_PATTERNS) if (re.test(name)) return kind;
  return undefined;
}

export function assertSystemIdentifier(sysid: string): void {
  if (!SYSID_RE.test(sysid) || BigInt(sysid) > 0xffffffffffffffffn) {
    throw new Error(`invalid system identifier ${JSON.stringify(sysid)}: expected a decimal uint64`);
  }
}

export function assertBackupBk(backupBk: string): void {
  if (!BACKUP_BK_RE.test(backupBk) || backupBk.includes('..')) {
    throw new Error(`invalid backup key ${JSON.stringify(backupBk)}: use letters, digits, '.', '_' and '-'`);
  }
}

export function assertWalFileName(name: string): WalFileKind {
  const kind = walFileKind(name);
  if (!kind) throw new Error(`not a WAL file name: ${JSON.stringify(name)}`);
  return kind;
}

export function systemDir(repo: string, sysid: string): string {
  assertSystemIdentifier(sysid);
  return join(repo, sysid);
}

export function backupsDir(repo: string, sysid: string): string {
  return join(systemDir(repo, sysid), 'backups');
}

export function backupDir(repo: string, sysid: string, backupBk: string): string {
  assertBackupBk(backupBk);
  return join(backupsDir(repo, sysid), backupBk);
}

export function stagingRoot(repo: string, sysid: string): string {
  return join(systemDir(repo, sysid), 'staging');
}

/** A fresh staging directory name; the random part lets a retry not collide with leftovers. */
export function stagingDir(repo: string, sysid: string, backupBk: string): string {
  assertBackupBk(backupBk);
  return join(stagingRoot(repo, sysid), `${backupBk}.${randomBytes(6).toString('hex')}`);
}

export function walRoot(repo: string, sysid: string): string {
  return join(systemDir(repo, sysid), 'wal');
}

/** Subdirectory of wal/ for a WAL file: `history`, or timeline + log id. */
export function walSubdir(fileName: string): string {
  return assertWalFileName(fileName) === 'history' ? HISTORY_DIR : fileName.slice(0, 16);
}

export function walDirFor(repo: string, sysid: string, fileName: string): string {
  return join(walRoot(repo, sysid), walSubdir(fileName));
}

export function storedWalName(fileName: string, sha256: string): string {
  assertWalFileName(fileName);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`invalid sha256 ${JSON.stringify(sha256)}`);
  return `${fileName}-${sha256}${STORED_WAL_SUFFIX}`;
}

export interface StoredWalName {
  fileName: string;
  kind: WalFileKind;
  sha256: string;
}

/** Inverse of storedWalName; undefined for temp files and anything foreign. */
export function parseStoredWalName(stored: string): StoredWalName | undefined {
  const m = /^(.+)-([0-9a-f]{64})\.zst$/.exec(stored);
  if (!m) return undefined;
  const kind = walFileKind(m[1]!);
  return kind ? { fileName: m[1]!, kind, sha256: m[2]! } : undefined;
}

/** Timeline of a WAL file name (the first 8 hex digits). */
export function walTimeline(fileName: string): number {
  assertWalFileName(fileName);
  return parseInt(fileName.slice(0, 8), 16);
}

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function realpathOfExistingPrefix(p: string): Promise<{ real: string; rest: string }> {
  let cur = p;
  let rest = '';
  for (;;) {
    try {
      return { real: await realpath(cur), rest };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const parent = dirname(cur);
      if (parent === cur) throw e;
      rest = rest ? join(cur.slice(parent.length + 1), rest) : cur.slice(parent.length + 1);
      cur = parent;
    }
  }
}

/**
 * Resolve `p` (absolute, or relative to `root`) and prove it stays inside
 * `root`, both lexically and after following symlinks of the part that exists.
 * Returns the lexically resolved absolute path.
 */
export async function resolveInsideRoot(root: string, p: string): Promise<string> {
  if (p.includes('\0')) throw new Error(`path ${JSON.stringify(p)} contains a NUL byte`);
  const absRoot = resolve(root);
  const abs = resolve(absRoot, p);
  if (!isInside(absRoot, abs)) {
    throw new Error(`path ${JSON.stringify(p)} resolves to ${abs}, outside the repository root ${absRoot}`);
  }
  const realRoot = await realpath(absRoot);
  const { real, rest } = await realpathOfExistingPrefix(abs);
  const realTarget = rest ? join(real, rest) : real;
  if (!isInside(realRoot, realTarget)) {
    throw new Error(
      `path ${JSON.stringify(p)} escapes the repository root ${absRoot} through a symlink (it resolves to ${realTarget})`,
    );
  }
  return abs;
}

/** The `<sysid>` directories present in a repository (missing repo → none). */
export async function listSystemIdentifiers(repo: string): Promise<string[]> {
  let names: Dirent[];
  try {
    names = await readdir(repo, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter((d) => d.isDirectory() && SYSID_RE.test(d.name)).map((d) => d.name).sort();
}

/** The repository's only cluster, for callers (wal-fetch) that were not told which. */
export async function soleSystemIdentifier(repo: string): Promise<string> {
  const ids = await listSystemIdentifiers(repo);
  if (ids.length === 1) return ids[0]!;
  throw new Error(
    ids.length === 0
      ? `repository ${repo} holds no cluster yet; pass the system identifier`
      : `repository ${repo} holds several clusters (${ids.join(', ')}); pass the system identifier`,
  );
}
