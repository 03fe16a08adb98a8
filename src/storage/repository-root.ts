// The repository root: the one directory (local today, an object-store prefix
// for the S3 backend) that holds <sysid>/backups and <sysid>/wal. Every
// command and the agent name it `--repo` / $BACKUP_MGMT_REPO and resolve it
// here; SQL resolves a backup location to one with _resolve_repository.
// No zod: archive_command starts the CLI once per WAL file (see repo-option.ts).
import { resolve } from 'node:path';

export const REPOSITORY_ENV = 'BACKUP_MGMT_REPO';

export class RepositoryRootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryRootError';
  }
}

/** What was given: the flag wins over $BACKUP_MGMT_REPO; '' counts as not given. */
export function repositoryRootInput(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = flag ?? env[REPOSITORY_ENV];
  return value === '' ? undefined : value;
}

/** The repository root as an absolute path (archive_command runs with cwd = the data directory). */
export function resolveRepositoryRoot(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const repo = repositoryRootInput(flag, env);
  if (repo === undefined) throw new RepositoryRootError(`no repository: pass --repo or set ${REPOSITORY_ENV}`);
  if (repo.includes('\0')) throw new RepositoryRootError('contains a NUL byte');
  return resolve(repo);
}
