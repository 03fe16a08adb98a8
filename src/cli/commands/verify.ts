// `backup-mgmt verify <id> [--wait] [--json]`: re-verify what is in storage now.
// With --wait: exit 0 only when the backup ends VERIFIED.
import { Command } from 'commander';
import { printBackup } from '../backup-view.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { parseTimeoutMs, withCommon, withWait, type CommonOptions, type WaitOptions } from '../options.js';
import { progressDisplay } from '../progress-display.js';

export function verifyCommand(): Command {
  return withWait(withCommon(new Command('verify').description('queue verification of a stored backup').argument('<id>', 'hex hash key or business key')), 'wait for the outcome')
    .action(async (id: string, flags: CommonOptions & WaitOptions) => {
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
