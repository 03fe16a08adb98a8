// `backup-mgmt wal-push <path>`: archive_command. Silent on success (also when
// the identical file is already archived); one line and exit 1 on any doubt,
// so PostgreSQL keeps the segment and tries again.
import { Command } from 'commander';
import { z } from 'zod';
import { parseInput } from '../config.js';
import { repoOption, resolveRepo, systemIdentifierOption, systemIdentifierSchema } from '../repo-option.js';

const walPathSchema = z
  .string()
  .min(1, 'the WAL file path (%p) is empty')
  .refine((p) => !p.includes('\0'), 'contains a NUL byte');

interface Flags {
  repo?: string;
  systemIdentifier?: string;
}

export function walPushCommand(): Command {
  return new Command('wal-push')
    .description("archive one WAL file (archive_command = '… wal-push %p --repo <dir>')")
    .argument('<path>', 'the WAL file, relative to the data directory (%p)')
    .addOption(repoOption())
    .addOption(systemIdentifierOption())
    .action(async (path: string, flags: Flags) => {
      const walPath = parseInput(walPathSchema, path, 'wal-push');
      const systemIdentifier = parseInput(systemIdentifierSchema, flags.systemIdentifier, '--system-identifier');
      const { walPush } = await import('../../storage/wal-push.js');
      await walPush({ repo: resolveRepo(flags.repo), walPath, cwd: process.cwd(), systemIdentifier });
    });
}
