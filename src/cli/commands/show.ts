// `backup-mgmt show <id> [--json]`: one backup by hash key or business key.
import { Command } from 'commander';
import { printBackup } from '../backup-view.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';

export function showCommand(): Command {
  return withCommon(new Command('show').description('show one backup').argument('<id>', 'hex hash key or business key')).action(
    async (id: string, flags: CommonOptions) => {
      parseInput((await import('../../client/inputs.js')).BackupId, id, 'backup id');
      await withClient(flags.databaseUrl, async (bm) => printBackup(await bm.getBackup(id), flags.json));
    },
  );
}
