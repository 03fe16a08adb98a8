// `backup-mgmt recovery list [--copies] | show <id> | approve <id> [--comment C] |
// reject <id> --comment C | cancel <id> | remove <id>`: recoveries and drills,
// the second person's decision about a pending recovery, and the restored
// copies left running.
import { Command, Option } from 'commander';
import { z } from 'zod';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson } from '../output.js';
import { printCopies, printRecovery, printRecoveryTable, recoveryJson } from '../recovery-view.js';

const limitSchema = z.coerce.number().int().positive().max(100_000);

async function recoveryId(id: string): Promise<string> {
  return parseInput((await import('../../client/inputs.js')).RecoveryId, id, 'recovery id');
}

async function comment(c: string | undefined, required: boolean): Promise<string | undefined> {
  if (c === undefined && !required) return undefined;
  return parseInput((await import('../../client/inputs.js')).Comment, c ?? '', '--comment');
}

export function recoveryCommand(): Command {
  const cmd = new Command('recovery')
    .description('list, show, approve, reject or cancel recoveries and drills; remove restored copies')
    .addHelpText('after', '\nExit codes: 0 done, 1 refused by the catalog (e.g. 42501: you may not approve; 55000: not PENDING), 2 usage.');

  withCommon(cmd.command('list').description('recoveries and drills, newest first'))
    .addOption(new Option('--limit <n>', 'at most this many').default('50'))
    .addOption(new Option('--drills', 'drills only'))
    .addOption(new Option('--no-drills', 'recoveries only'))
    .addOption(new Option('--copies', 'only restored copies still left running, with how to connect and remove them'))
    .action(async (flags: CommonOptions & { limit: string; drills?: boolean; copies?: boolean }) => {
      const limit = parseInput(limitSchema, flags.limit, '--limit');
      await withClient(flags.databaseUrl, async (bm) => {
        const rows = await bm.listRecoveries({ limit, drills: flags.drills, copies: flags.copies });
        if (flags.json) printJson(rows.map(recoveryJson));
        else if (flags.copies) printCopies(rows);
        else printRecoveryTable(rows);
      });
    });

  withCommon(cmd.command('remove').description('stop and delete the restored copy a recovery left running (not a drill); on its host, as root or the server\'s OS user'))
    .argument('<id>', 'hex hash key or business key')
    .action(async (id: string, flags: CommonOptions) => {
      const key = await recoveryId(id);
      await withClient(flags.databaseUrl, async (bm) => {
        const { removeRestoredCopy } = await import('../restored-copy.js');
        const row = await bm.getRecovery(key);
        const removed = await removeRestoredCopy(row);
        const after = await bm.restoredCopyRemoved(key);
        if (flags.json) return printJson({ ...recoveryJson(after), removed_directory: removed.directory, stopped: removed.stopped });
        process.stdout.write(`${row.recovery_bk}: ${removed.stopped ? `stopped the server on port ${row.restore_port} and ` : ''}removed ${removed.directory}\n`);
      });
    });

  withCommon(cmd.command('show').description('one recovery or drill').argument('<id>', 'hex hash key or business key (RECOVERY_…)')).action(
    async (id: string, flags: CommonOptions) => {
      const key = await recoveryId(id);
      await withClient(flags.databaseUrl, async (bm) => printRecovery(await bm.getRecovery(key), flags.json));
    },
  );

  // The second person's decision; a rejection must say why.
  for (const [name, description, commentHelp] of [
    ['approve', 'approve a PENDING recovery (recovery_approver, not the requester); it is queued at once', 'why it may run'],
    ['reject', 'reject a PENDING recovery (recovery_approver, not the requester); it never runs', 'the reason (required)'],
  ] as const) {
    withCommon(cmd.command(name).description(description))
      .argument('<id>', 'hex hash key or business key')
      .addOption(new Option('--comment <text>', commentHelp))
      .action(async (id: string, flags: CommonOptions & { comment?: string }) => {
        const key = await recoveryId(id);
        const c = await comment(flags.comment, name === 'reject');
        await withClient(flags.databaseUrl, async (bm) =>
          printRecovery(name === 'approve' ? await bm.approveRecovery(key, c) : await bm.rejectRecovery(key, c!), flags.json),
        );
      });
  }

  withCommon(cmd.command('cancel').description('withdraw a PENDING or APPROVED recovery, or stop a RUNNING one (requester or admin)'))
    .argument('<id>', 'hex hash key or business key')
    .action(async (id: string, flags: CommonOptions) => {
      const key = await recoveryId(id);
      await withClient(flags.databaseUrl, async (bm) => printRecovery(await bm.cancelRecovery(key), flags.json));
    });
  return cmd;
}
