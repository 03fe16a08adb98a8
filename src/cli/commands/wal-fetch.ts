// `backup-mgmt wal-fetch <file> <dest>`: restore_command. Exit 0 with the file
// in place (checksum proven), 1 when the archive does not have it (PostgreSQL
// asks for files that may not exist), 126 for anything else: PostgreSQL treats
// an exit code above 125 as fatal and stops recovery, instead of taking a
// damaged or unreadable archive for the end of the WAL and promoting early.
import { Command } from 'commander';
import { CliError, describeError } from '../errors.js';
import { parsePathArg, parseSystemIdentifier, repoOption, resolveRepo, systemIdentifierOption } from '../repo-option.js';

export const WAL_FETCH_NOT_FOUND = 1;
export const WAL_FETCH_FATAL = 126;

const WAL_FILE_RE = /^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

function parseWalFileName(file: string): string {
  if (!WAL_FILE_RE.test(file)) throw new CliError('wal-fetch: not a WAL file name (%f)', 2);
  return file;
}

interface Flags {
  repo?: string;
  systemIdentifier?: string;
}

export function walFetchCommand(): Command {
  return new Command('wal-fetch')
    .description("restore one archived WAL file (restore_command = '… wal-fetch %f %p --repo <dir>')")
    .argument('<file>', 'the WAL file name (%f)')
    .argument('<dest>', 'where to write it, relative to the data directory (%p)')
    .addOption(repoOption())
    .addOption(systemIdentifierOption())
    .action(async (file: string, dest: string, flags: Flags) => {
      let result;
      try {
        const { walFetch } = await import('../../storage/wal-fetch.js');
        result = await walFetch({
          repo: resolveRepo(flags.repo),
          systemIdentifier: parseSystemIdentifier(flags.systemIdentifier),
          fileName: parseWalFileName(file),
          destPath: parsePathArg(dest, 'wal-fetch', 'the destination (%p) is empty'),
          cwd: process.cwd(),
        });
      } catch (e) {
        // Usage mistakes are fatal too: a broken restore_command must not look like "end of WAL".
        if (e instanceof CliError) throw new CliError(e.message, WAL_FETCH_FATAL);
        throw new CliError(`wal-fetch ${file}: ${describeError(e)}`, WAL_FETCH_FATAL);
      }
      if (!result.found) throw new CliError(`wal-fetch: ${file} is not in the archive`, WAL_FETCH_NOT_FOUND);
    });
}
