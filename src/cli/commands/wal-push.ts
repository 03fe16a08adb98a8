// `backup-mgmt wal-push <path>`: archive_command. Silent on success (also when
// the identical file is already archived); one line and exit 1 on any doubt,
// so PostgreSQL keeps the segment and tries again.
import { Command } from 'commander';
import { parsePathArg, parseSystemIdentifier, repoOption, resolveRepo, systemIdentifierOption } from '../repo-option.js';

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
      const walPath = parsePathArg(path, 'wal-push', 'the WAL file path (%p) is empty');
      const systemIdentifier = parseSystemIdentifier(flags.systemIdentifier);
      const { walPush } = await import('../../storage/wal-push.js');
      await walPush({ repo: resolveRepo(flags.repo), walPath, cwd: process.cwd(), systemIdentifier });
    });
}
