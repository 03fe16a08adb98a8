// `backup-mgmt backup incremental [--base ID] [--location DIR] [--wait] [--json]`:
// create_incremental_backup. On PostgreSQL < 17 a proven WAL range on top of
// the latest valid chain (or --base). With --wait: exit 0 only for COMPLETED
// and VERIFIED (every WAL segment of the chain present and intact).
import { Command, Option } from 'commander';
import { printOrAwaitBackup } from '../backup-wait.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { locationOption, parseTimeoutMs, withCommon, withWait, type CommonOptions, type WaitOptions } from '../options.js';

interface Flags extends CommonOptions, WaitOptions {
  base?: string;
  location?: string;
}

export function incrementalCommand(): Command {
  const cmd = withCommon(new Command('incremental').description('queue an incremental backup (create_incremental_backup) and optionally wait for it'))
    .addOption(new Option('--base <id>', 'parent backup (hash key or business key; default: the latest valid chain)'))
    .addOption(locationOption());
  return withWait(cmd)
    .addHelpText('after', '\nExit codes: 0 queued (or with --wait: COMPLETED and VERIFIED), 1 refused or not verified, 2 usage, 3 --wait timed out.')
    .action(async (flags: Flags) => {
      const { CreateIncrementalBackupOptions } = await import('../../client/inputs.js');
      const options = parseInput(CreateIncrementalBackupOptions, { base: flags.base, location: flags.location }, 'backup incremental');
      const timeoutMs = parseTimeoutMs(flags.timeout);
      await withClient(flags.databaseUrl, async (bm) => {
        const queued = await bm.createIncrementalBackup(options);
        const final = await printOrAwaitBackup(bm, queued, { ...flags, timeoutMs, timeoutExit: true });
        if (final && (final.backup_status !== 'COMPLETED' || final.verification_status !== 'VERIFIED')) process.exitCode = 1;
      });
    });
}
