// `backup-mgmt cancel <id> [--json]`: cancel a queued or running backup.
import { Command } from 'commander';
import { printBackup } from '../backup-view.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';

export function cancelCommand(): Command {
  return withCommon(new Command('cancel').description('cancel a queued or running backup').argument('<id>', 'hex hash key or business key')).action(
    async (id: string, flags: CommonOptions) => {
      parseInput((await import('../../client/inputs.js')).BackupId, id, 'backup id');
      await withClient(flags.databaseUrl, async (bm) => printBackup(await bm.cancelBackup(id), flags.json));
    },
  );
}
