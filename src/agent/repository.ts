// The agent's repository root: created if missing, and proven writable by
// writing into it, because permission bits alone do not tell (read-only
// mounts, ACLs, root squash).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { mkdirDurable } from '../storage/fsync.js';
import { isRoot } from '../util/process.js';

export class RepositoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryError';
  }
}

export async function assertWritableDir(dir: string, what: string): Promise<void> {
  const probe = join(dir, `.write-probe-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (e) {
    throw new RepositoryError(`${what} ${dir} is not writable: ${(e as Error).message}`);
  }
  await rm(probe, { force: true });
}

/**
 * mkdir -p `dir` below `root`. An agent running as root gives the directories
 * it creates to the repository's owner: archive_command writes next to them
 * as the server's OS user (<repo>/<sysid>/wal beside <repo>/<sysid>/backups).
 */
export async function mkdirShared(root: string, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; d !== root && d !== dirname(d) && !existsSync(d); d = dirname(d)) missing.push(d);
  await mkdirDurable(dir);
  if (!isRoot() || missing.length === 0 || relative(root, dir).startsWith('..')) return;
  const owner = await stat(root);
  if (owner.uid === 0) return;
  for (const d of missing.reverse()) await chown(d, owner.uid, owner.gid);
}

/** mkdir -p the repository, check it is writable, and return its real path. */
export async function prepareRepository(repo: string): Promise<string> {
  try {
    await mkdirDurable(repo);
  } catch (e) {
    throw new RepositoryError(`cannot create the repository ${repo}: ${(e as Error).message}`);
  }
  const real = await realpath(repo);
  await assertWritableDir(real, 'the repository');
  return real;
}
