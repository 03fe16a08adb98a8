// `backup-mgmt backup full [--wait] [--no-verify] [--no-compress] [--location DIR] [--storage local|s3] [--json]`
// Exit codes with --wait: 0 only for COMPLETED and VERIFIED (or SKIPPED), 1 otherwise.
import { Command, Option } from 'commander';
import type { BackupListRow } from '../../client/index.js';
import { printOrAwaitBackup } from '../backup-wait.js';
import { withClient } from '../client.js';
import { locationOption, parseTimeoutMs, timeoutOption, withCommon, type CommonOptions, type WaitOptions } from '../options.js';
import { incrementalCommand } from './backup-incremental.js';

interface Flags extends CommonOptions, WaitOptions {
  verify: boolean;
  compress: boolean;
  location?: string;
  storage?: 'local' | 's3';
}

export function backupSucceeded(row: BackupListRow): boolean {
  return row.backup_status === 'COMPLETED' && (row.verification_status === 'VERIFIED' || row.verification_status === 'SKIPPED');
}

export function backupCommand(): Command {
  const cmd = new Command('backup').description('take backups');
  withCommon(cmd.command('full').description('queue a full base backup (create_full_backup) and optionally wait for it'))
    .addOption(new Option('--wait', 'wait for the outcome, showing progress'))
    .addOption(new Option('--no-verify', 'skip verification against the backup manifest'))
    .addOption(new Option('--no-compress', 'store the tar uncompressed'))
    .addOption(locationOption())
    .addOption(
      new Option('--storage <type>', "s3: the agent's off-host repository (BACKUP_MGMT_REPO_S3), encrypted; local: --location's repository")
        .choices(['local', 's3'])
        .default('local'),
    )
    .addOption(timeoutOption())
    .action(async (flags: Flags) => {
      const timeoutMs = parseTimeoutMs(flags.timeout);
      await withClient(flags.databaseUrl, async (bm) => {
        const queued = await bm.createFullBackup({
          verify: flags.verify,
          compression: flags.compress,
          location: flags.location,
          storageType: flags.storage === 's3' ? 'S3' : 'LOCAL',
        });
        const final = await printOrAwaitBackup(bm, queued, { ...flags, timeoutMs });
        if (final && !backupSucceeded(final)) process.exitCode = 1;
      });
    });
  cmd.addCommand(incrementalCommand());
  return cmd;
}
