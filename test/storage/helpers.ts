// Shared steps for the storage tests: take real base backups and damage
// them in the ways pg_verifybackup is expected to notice.
import { cp, mkdir, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pgTool, runCommand } from '../../src/util/process.js';
import type { TestCluster } from '../harness/cluster.js';

export async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  return (await runCommand(cmd, args, { cwd, timeoutMs: 300_000, pgConnection: true })).stdout;
}

export async function psqlValue(c: TestCluster, sql: string): Promise<string> {
  const rows = await c.query(sql);
  return String(Object.values(rows[0]!)[0]);
}

/** pg_basebackup -Ft into `dir`; `compress` false gives a plain base.tar. */
export async function takeBackup(
  c: TestCluster,
  dir: string,
  opts: { compress?: boolean; checksums?: string; wal?: 'fetch' | 'stream' | 'none' } = {},
): Promise<void> {
  // Fast checkpoint: a spread one is paced by checkpoint_timeout and can take minutes.
  const args = ['-D', dir, '-Ft', '--checkpoint=fast', `-X${opts.wal ?? 'fetch'}`, `--manifest-checksums=${opts.checksums ?? 'SHA256'}`];
  if (opts.compress ?? true) args.push('--compress=server-zstd:level=3');
  args.push('-U', 'postgres', '-h', c.socketDir, '-p', String(c.port), '--no-sync');
  await run(pgTool('pg_basebackup'), args);
}

/** A copy of a backup with base.tar.zst unpacked to base.tar, ready to edit. */
export async function editableCopy(src: string, dst: string): Promise<string> {
  await rm(dst, { recursive: true, force: true });
  await cp(src, dst, { recursive: true });
  const tar = join(dst, 'base.tar');
  await run('zstd', ['-q', '-d', '--rm', join(dst, 'base.tar.zst'), '-o', tar]);
  return tar;
}

export async function recompress(dir: string): Promise<void> {
  await run('zstd', ['-q', '-3', '--rm', join(dir, 'base.tar'), '-o', join(dir, 'base.tar.zst')]);
}

interface Member {
  block: number;
  size: number;
  path: string;
}

/** Members with their header block numbers, as GNU tar reports them (-tvR). */
export async function listMembers(tarPath: string): Promise<Member[]> {
  const out = await run('tar', ['-tvR', '--numeric-owner', '-f', tarPath]);
  const members: Member[] = [];
  for (const line of out.split('\n')) {
    const m = /^block (\d+): \S+ \S+\s+(\d+) \S+ \S+ (.+)$/.exec(line);
    if (m) members.push({ block: Number(m[1]), size: Number(m[2]), path: m[3]!.replace(/ -> .*$/, '') });
  }
  return members;
}

/** Flip one byte inside a member's data, leaving the tar structure intact. */
export async function flipByteInMember(tarPath: string, member: Member, at: number): Promise<void> {
  const fh = await open(tarPath, 'r+');
  try {
    const pos = (member.block + 1) * 512 + at;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, pos);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, pos);
  } finally {
    await fh.close();
  }
}

// GNU tar edits archives in 10240-byte records; pg_basebackup's tar is not
// padded to that size, and without -b 1 `tar --delete` garbles the members
// before the end (seen: global/pg_control). 512-byte records are safe.
export async function deleteMember(tarPath: string, path: string): Promise<void> {
  await run('tar', ['-b', '1', '--delete', '-f', tarPath, path]);
}

/** Append `relPath` with `content` (GNU tar's own format, or pax). */
export async function appendMember(tarPath: string, relPath: string, content: Buffer, format: 'gnu' | 'pax' = 'gnu'): Promise<void> {
  const stage = `${tarPath}.stage`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(join(stage, relPath, '..'), { recursive: true });
  await writeFile(join(stage, relPath), content);
  // tar -r would keep the archive's own format; build a separate archive
  // in the wanted format and concatenate it (tar -A copies headers verbatim).
  const piece = `${stage}.tar`;
  await run('tar', [`--format=${format}`, '-c', '-f', piece, '-C', stage, relPath]);
  await run('tar', ['-b', '1', '-A', '-f', tarPath, piece]);
  await rm(stage, { recursive: true, force: true });
  await rm(piece, { force: true });
}

/** Replace a member by a copy cut down to `length` bytes. */
export async function truncateMember(tarPath: string, relPath: string, length: number): Promise<void> {
  const stage = `${tarPath}.stage`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  await run('tar', ['-x', '-f', tarPath, '-C', stage, relPath]);
  await truncate(join(stage, relPath), length);
  const content = await readFile(join(stage, relPath));
  await rm(stage, { recursive: true, force: true });
  await deleteMember(tarPath, relPath);
  await appendMember(tarPath, relPath, content);
}
