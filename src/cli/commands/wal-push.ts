// `backup-mgmt wal-push <path>`: archive_command. Silent on success (also when
// the identical file is already archived); one line and exit 1 on any doubt,
// so PostgreSQL keeps the segment and tries again. With an off-host
// repository configured the file is stored there as well, and a failure
// there fails the push too (the local store is idempotent for the retry). With --catalog it also
// registers the file in the catalog before PostgreSQL hears "archived", so
// PITR planning knows it at once; a registration that fails is reported and
// never fails archiving (the agent's scan registers the file later).
import { Command, Option } from 'commander';
import { describeError } from '../errors.js';
import { parsePathArg, parseSystemIdentifier, repoOption, resolveRepo, systemIdentifierOption } from '../repo-option.js';

interface Flags {
  repo?: string;
  systemIdentifier?: string;
  catalog?: string;
}

export function walPushCommand(): Command {
  return new Command('wal-push')
    .description("archive one WAL file (archive_command = '… wal-push %p --repo <dir>')")
    .argument('<path>', 'the WAL file, relative to the data directory (%p)')
    .addOption(repoOption())
    .addOption(systemIdentifierOption())
    .addOption(new Option('--catalog <url>', 'register the file in this database\'s catalog at once (a URL without password)'))
    .action(async (path: string, flags: Flags) => {
      const walPath = parsePathArg(path, 'wal-push', 'the WAL file path (%p) is empty');
      const systemIdentifier = parseSystemIdentifier(flags.systemIdentifier);
      const { walPush } = await import('../../storage/wal-push.js');
      // With an off-host repository (BACKUP_MGMT_REPO_S3, e.g. from --config) the file goes there too.
      const offsite = await (await import('../../storage/wal-offsite.js')).openWalOffsite();
      const push = { repo: resolveRepo(flags.repo), walPath, cwd: process.cwd(), systemIdentifier, offsite };
      if (!flags.catalog) {
        await walPush(push);
        return;
      }
      const reg = await import('../../agent/push-registration.js');
      const { resolve, basename } = await import('node:path');
      const original = resolve(process.cwd(), walPath);
      // pg_waldump reads the original while zstd compresses it.
      const times = reg.originalCommitTimes(basename(original), original).catch((e: unknown) => e as Error);
      const result = await walPush(push);
      const warn = (why: string): void => {
        process.stderr.write(`backup-mgmt wal-push: ${result.fileName} is archived but not registered in the catalog (${why}); the agent's scan registers it\n`);
      };
      // From here on nothing may fail the archiving: the file is stored.
      try {
        if (reg.hasPassword(flags.catalog)) return warn('--catalog must not carry a password: use peer/trust or the server user\'s .pgpass');
        const t = await times;
        if (t instanceof Error) return warn(`reading its commit times: ${describeError(t)}`);
        await reg.registerInCatalog(flags.catalog, result, t);
      } catch (e) {
        warn(describeError(e));
      }
    });
}
