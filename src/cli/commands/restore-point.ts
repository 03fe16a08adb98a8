// `backup-mgmt restore-point NAME [--json]`: create_restore_point, a named
// target for a later `restore --target-name NAME`.
import { Command } from 'commander';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson } from '../output.js';

export function restorePointCommand(): Command {
  return withCommon(
    new Command('restore-point')
      .description('create a named restore point (pg_create_restore_point + a catalog row)')
      .argument('<name>', 'letters, digits, then also _ . : - (at most 63 characters); names are never reused'),
  )
    .addHelpText('after', '\nExit codes: 0 created, 1 refused (e.g. the name exists: SQLSTATE 23505), 2 usage.')
    .action(async (name: string, flags: CommonOptions) => {
      parseInput((await import('../../client/inputs.js')).RestorePointName, name, 'restore point name');
      await withClient(flags.databaseUrl, async (bm) => {
        const rp = await bm.createRestorePoint(name);
        if (flags.json) return printJson(rp);
        process.stdout.write(`restore point ${rp.name} at LSN ${rp.lsn} (${rp.created_at.toISOString()}, by ${rp.created_by})\n`);
        process.stdout.write(`it becomes recoverable once its WAL segment is archived (SELECT pg_switch_wal() to hurry)\n`);
      });
    });
}
