// --repo and --system-identifier, shared by the commands that touch the
// repository directly. Checked by hand, not with zod: archive_command and
// restore_command start the CLI once per WAL file, and loading zod costs
// more than archiving a segment (measured here: ~0.4 s of a ~0.7 s start).
import { Option } from 'commander';
import { parseS3Url } from '../storage/backends/s3-url.js';
import { StorageError } from '../storage/backends/types.js';
import { RepositoryRootError, resolveRepositoryRoot } from '../storage/repository-root.js';
import { CliError } from './errors.js';

/** The one `--repo` option; commands may describe what it means for them. */
export const repoOption = (description = 'repository root (default: $BACKUP_MGMT_REPO)') => new Option('--repo <dir>', description);
export const systemIdentifierOption = () =>
  new Option('--system-identifier <id>', "the cluster's system identifier (default: taken from the file or the repository)");

/** The repository as an absolute path (archive_command runs with cwd = the data directory). */
export function resolveRepo(flag?: string): string {
  try {
    return resolveRepositoryRoot(flag);
  } catch (e) {
    if (e instanceof RepositoryRootError) throw new CliError(`repository: ${e.message}`, 2);
    throw e;
  }
}

/**
 * For the commands that read a repository without a database (restore --repo,
 * repo …): a directory as resolveRepo, or an off-host s3://bucket/prefix,
 * checked against the key grammar (its SDK loads only when it is opened).
 */
export function resolveRepoLocation(flag?: string): string {
  if (flag?.startsWith('s3://')) {
    try {
      const { bucket, prefix } = parseS3Url(flag);
      return `s3://${bucket}${prefix ? `/${prefix.replace(/\/$/, '')}` : ''}`;
    } catch (e) {
      if (e instanceof StorageError) throw new CliError(`repository: ${e.message}`, 2);
      throw e;
    }
  }
  return resolveRepo(flag);
}

export function parseSystemIdentifier(flag?: string): string | undefined {
  if (flag === undefined) return undefined;
  if (!/^[0-9]{1,20}$/.test(flag)) throw new CliError('--system-identifier: a system identifier is a decimal number', 2);
  return flag;
}

/** %p, %f and friends: a non-empty path without NUL bytes. */
export function parsePathArg(value: string, what: string, emptyMessage: string): string {
  if (value === '') throw new CliError(`${what}: ${emptyMessage}`, 2);
  if (value.includes('\0')) throw new CliError(`${what}: contains a NUL byte`, 2);
  return value;
}
