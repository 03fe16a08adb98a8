// `backup-mgmt backup full [--wait] [--no-verify] [--no-compress] [--location DIR] [--json]`
// Exit codes with --wait: 0 only for COMPLETED and VERIFIED (or SKIPPED), 1 otherwise.
import { Command, Option } from 'commander';
import type { BackupListRow } from '../../client/index.js';
import { printBackup } from '../backup-view.js';
import { withClient } from '../client.js';
import { CliError, requireLiveAgent } from '../errors.js';
import { withCommon, type CommonOptions } from '../options.js';
import { progressDisplay } from '../progress-display.js';
import { incrementalCommand } from './backup-incremental.js';

interface Flags extends CommonOptions {
  wait?: boolean;
  verify: boolean;
  compress: boolean;
  location?: string;
  timeout: string;
}

export function backupSucceeded(row: BackupListRow): boolean {
  return row.backup_status === 'COMPLETED' && (row.verification_status === 'VERIFIED' || row.verification_status === 'SKIPPED');
}

export function timeoutOption(): Option {
  return new Option('--timeout <seconds>', 'give up waiting after this long').default('86400');
}

export function parseTimeoutMs(s: string): number {
  if (!/^[0-9]+$/.test(s) || Number(s) <= 0) throw new CliError(`--timeout: expected a positive number of seconds, got ${JSON.stringify(s)}`, 2);
  return Number(s) * 1000;
}

export function backupCommand(): Command {
  const cmd = new Command('backup').description('take backups');
  withCommon(cmd.command('full').description('queue a full base backup (create_full_backup) and optionally wait for it'))
    .addOption(new Option('--wait', 'wait for the outcome, showing progress'))
    .addOption(new Option('--no-verify', 'skip verification against the backup manifest'))
    .addOption(new Option('--no-compress', 'store the tar uncompressed'))
    .addOption(new Option('--location <dir>', 'target inside a configured repository root (default: the repository)'))
    .addOption(timeoutOption())
    .action(async (flags: Flags) => {
      const timeoutMs = parseTimeoutMs(flags.timeout);
      await withClient(flags.databaseUrl, async (bm) => {
        const queued = await bm.createFullBackup({ verify: flags.verify, compression: flags.compress, location: flags.location });
        if (!flags.wait) {
          if (flags.json) return printBackup(queued, true);
          process.stdout.write(`${queued.backup_bk} ${queued.backup_status} (${queued.backup_hk.toString('hex')})\n`);
          return;
        }
        await requireLiveAgent(bm, queued.backup_bk);
        if (!flags.json) process.stderr.write(`${queued.backup_bk} queued, waiting\n`);
        const display = await progressDisplay();
        let final: BackupListRow;
        try {
          final = await bm.awaitBackup(queued.backup_hk.toString('hex'), { timeoutMs, onProgress: (p) => display.update(p) });
        } finally {
          display.stop();
        }
        printBackup(final, flags.json);
        if (!backupSucceeded(final)) process.exitCode = 1;
      });
    });
  cmd.addCommand(incrementalCommand());
  return cmd;
}
