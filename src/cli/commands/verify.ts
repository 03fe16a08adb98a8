// `backup-mgmt verify <id> [--wait] [--json]`: re-verify what is in storage now.
// With --wait: exit 0 only when the backup ends VERIFIED.
import { Command, Option } from 'commander';
import { printBackup } from '../backup-view.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';
import { progressDisplay } from '../progress-display.js';
import { parseTimeoutMs, timeoutOption } from './backup.js';

export function verifyCommand(): Command {
  return withCommon(new Command('verify').description('queue verification of a stored backup').argument('<id>', 'hex hash key or business key'))
    .addOption(new Option('--wait', 'wait for the outcome'))
    .addOption(timeoutOption())
    .action(async (id: string, flags: CommonOptions & { wait?: boolean; timeout: string }) => {
      parseInput((await import('../../client/inputs.js')).BackupId, id, 'backup id');
      const timeoutMs = parseTimeoutMs(flags.timeout);
      await withClient(flags.databaseUrl, async (bm) => {
        const queued = await bm.verifyBackup(id);
        if (!flags.wait) return printBackup(queued, flags.json);
        const display = await progressDisplay();
        try {
          const final = await bm.awaitBackup(id, { timeoutMs, onProgress: (p) => display.update(p) });
          display.stop();
          printBackup(final, flags.json);
          if (final.verification_status !== 'VERIFIED') process.exitCode = 1;
        } finally {
          display.stop();
        }
      });
    });
}
