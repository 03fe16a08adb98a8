// --repo and --system-identifier, shared by the commands that touch the repository directly.
import { Option } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseInput } from './config.js';

export const repoOption = () => new Option('--repo <dir>', 'repository root (default: $BACKUP_MGMT_REPO)');
export const systemIdentifierOption = () =>
  new Option('--system-identifier <id>', "the cluster's system identifier (default: taken from the file or the repository)");

const repoSchema = z
  .string({ error: 'no repository: pass --repo or set BACKUP_MGMT_REPO' })
  .min(1, 'no repository: pass --repo or set BACKUP_MGMT_REPO')
  .refine((p) => !p.includes('\0'), 'contains a NUL byte');

export const systemIdentifierSchema = z.string().regex(/^[0-9]{1,20}$/, 'a system identifier is a decimal number').optional();

/** The repository as an absolute path (archive_command runs with cwd = the data directory). */
export function resolveRepo(flag?: string): string {
  return resolve(parseInput(repoSchema, flag ?? process.env.BACKUP_MGMT_REPO, 'repository'));
}
