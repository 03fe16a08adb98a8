// `backup-mgmt wal-fetch <file> <dest>`: restore_command. Exit 0 with the file
// in place (checksum proven), 1 when the archive does not have it (PostgreSQL
// asks for files that may not exist), 126 for anything else: PostgreSQL treats
// an exit code above 125 as fatal and stops recovery, instead of taking a
// damaged or unreadable archive for the end of the WAL and promoting early.
import { Command } from 'commander';
import { z } from 'zod';
import { parseInput } from '../config.js';
import { CliError, describeError } from '../errors.js';
import { repoOption, resolveRepo, systemIdentifierOption, systemIdentifierSchema } from '../repo-option.js';

export const WAL_FETCH_NOT_FOUND = 1;
export const WAL_FETCH_FATAL = 126;

const fileSchema = z
  .string()
  .regex(/^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/, 'not a WAL file name (%f)');
const destSchema = z
  .string()
  .min(1, 'the destination (%p) is empty')
  .refine((p) => !p.includes('\0'), 'contains a NUL byte');

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
          systemIdentifier: parseInput(systemIdentifierSchema, flags.systemIdentifier, '--system-identifier'),
          fileName: parseInput(fileSchema, file, 'wal-fetch'),
          destPath: parseInput(destSchema, dest, 'wal-fetch'),
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
