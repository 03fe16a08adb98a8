// `backup-mgmt list [--limit N] [--json]`: the newest backups first.
import { Command, Option } from 'commander';
import { z } from 'zod';
import { backupJson, printBackupTable } from '../backup-view.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson } from '../output.js';

const limitSchema = z.coerce.number().int().positive().max(100_000);

export function listCommand(): Command {
  return withCommon(new Command('list').description('list backups, newest first'))
    .addOption(new Option('--limit <n>', 'at most this many').default('50'))
    .action(async (flags: CommonOptions & { limit: string }) => {
      const limit = parseInput(limitSchema, flags.limit, '--limit');
      await withClient(flags.databaseUrl, async (bm) => {
        const rows = await bm.listBackups({ limit });
        if (flags.json) printJson(rows.map(backupJson));
        else printBackupTable(rows);
      });
    });
}
