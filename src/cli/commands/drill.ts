// `backup-mgmt drill [--backup ID] [--wait] [--json]`: create_restore_drill.
// The agent restores the backup into a directory of its own, starts it,
// validates it, stops and removes it; the backup records the outcome
// (recovery_tested, recovery_test_success) and the measured duration.
import { Command, Option } from 'commander';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { timeoutExit } from '../errors.js';
import { parseTimeoutMs, withCommon, withWait, type CommonOptions, type WaitOptions } from '../options.js';
import { outcomeLine, printRecovery } from '../recovery-view.js';
import { recoveryProgressPrinter } from '../recovery-progress.js';

interface Flags extends CommonOptions, WaitOptions {
  backup?: string;
}

export function drillCommand(): Command {
  const cmd = withCommon(new Command('drill').description('queue a restore drill of a backup (default: the newest completed full backup)'));
  return withWait(cmd.addOption(new Option('--backup <id>', 'the full backup to drill (hash key or business key)')))
    .addHelpText('after', '\nExit codes: 0 queued (with --wait: COMPLETED and validation PASSED), 1 refused or the drill failed, 2 usage, 3 --wait timed out.')
    .action(async (flags: Flags) => {
      if (flags.backup !== undefined) parseInput((await import('../../client/inputs.js')).BackupId, flags.backup, '--backup');
      const timeoutMs = parseTimeoutMs(flags.timeout);
      await withClient(flags.databaseUrl, async (bm) => {
        const queued = await bm.createRestoreDrill(flags.backup);
        if (!flags.wait) {
          if (flags.json) return printRecovery(queued, true);
          process.stdout.write(`${queued.recovery_bk} ${queued.recovery_status}: drill of ${queued.source_backup_bk}\n`);
          return;
        }
        if (!flags.json) process.stderr.write(`${queued.recovery_bk}: drill of ${queued.source_backup_bk} queued, waiting\n`);
        const final = await timeoutExit(bm.awaitRecovery(queued.recovery_bk, { timeoutMs, onProgress: flags.json ? undefined : recoveryProgressPrinter() }));
        if (flags.json) printRecovery(final, true);
        else process.stdout.write(outcomeLine(final));
        if (final.recovery_status !== 'COMPLETED' || final.validation_status !== 'PASSED') process.exitCode = 1;
      });
    });
}
