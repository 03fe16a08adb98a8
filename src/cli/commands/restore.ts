// `backup-mgmt restore (--target-time T | --target-name N | --target-lsn L |
// --target-xid X | --latest | --immediate) [--backup ID] [--to DIR]
// [--no-approval] [--wait] [--timeout S] [--json]`: initiate_recovery.
// Prints the plan; a refusal comes with the recoverable window. With --wait
// it follows the agent and prints the measured RTO and the validation.
import { Command, Option } from 'commander';
import { z } from 'zod';
import type { BackupMgmt, InitiateRecoveryOptions, RecoveryListRow } from '../../client/index.js';
import { withClient } from '../client.js';
import { parseInput } from '../config.js';
import { CliError, describeError, EXIT_TIMEOUT, timeoutExit } from '../errors.js';
import { parseTimeoutMs, timeoutOption, withCommon, type CommonOptions } from '../options.js';
import { printJson } from '../output.js';
import { recoveryProgressPrinter } from '../recovery-progress.js';
import { repoOption } from '../repo-option.js';
import { resolveTargetTime } from '../target-time.js';
import { outcomeLine, planSummary, printRecovery, recoveryJson, windowLines } from '../recovery-view.js';

interface Flags extends CommonOptions {
  targetTime?: string;
  targetName?: string;
  targetLsn?: string;
  targetXid?: string;
  latest?: boolean;
  immediate?: boolean;
  backup?: string;
  to?: string;
  approval: boolean;
  wait?: boolean;
  timeout: string;
  repo?: string;
  start?: boolean;
  systemIdentifier?: string;
  port?: string;
}

const HELP = `
Exactly one target: a time, a restore point name, an LSN, a
transaction id (recovery stops after its commit), --latest (all archived WAL)
or --immediate (the end of the base backup; --backup chooses it).

--target-time takes ISO 8601 with a zone (2026-11-22T01:02:03Z,
2026-11-22 01:02:03+01), now, or a time before now (-5min, now-2h, -1day).
A time without a zone is read in the zone of the machine running this command
(TZ, else /etc/localtime), not the server's; the plan shows the UTC instant.

The restore goes into a new directory (--to, inside a restore root; default
<restore root>/<recovery key>) and is left running on a free port for you.
Unless --no-approval (members of backup_mgmt_admin only), the recovery stays
PENDING until a different member of recovery_approver runs
  backup-mgmt recovery approve <recovery key>

Exit codes: 0 requested (with --wait: COMPLETED and validation PASSED),
1 refused by the catalog (the message names the recoverable window) or the
recovery FAILED, was CANCELLED or REJECTED, or its validation did not pass,
2 usage (bad input, no database), 3 --wait timed out (the recovery goes on).

With --repo DIR (disaster recovery, no DATABASE_URL): --to DATADIR (absent or
empty, the server user's) becomes a new primary restored from the repository
alone, archiving into it; --start starts it (pg_ctlcluster for a Debian
cluster) and waits until it is promoted. Exit codes: 0 restored (promoted
with --start), 1 refused (one line: the reason, nothing changed) or recovery
stopped before promotion, 2 usage.`;

const absoluteDir = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') && !p.includes('\0') && !p.split('/').includes('..'), 'must be an absolute path without ..');

/** The one target the flags name, as the client's RecoveryTarget input. */
function targetOf(f: Flags): Record<string, unknown> {
  const given: Record<string, unknown>[] = [];
  if (f.targetTime !== undefined) {
    const t = resolveTargetTime(f.targetTime);
    // Say how a relative or zone-less time was read before anything is requested.
    if (t.readAs && !f.json) process.stderr.write(`--target-time ${f.targetTime}: ${t.readAs} = ${t.iso}\n`);
    given.push({ time: t.iso });
  }
  if (f.targetName !== undefined) given.push({ name: f.targetName });
  if (f.targetLsn !== undefined) given.push({ lsn: f.targetLsn });
  if (f.targetXid !== undefined) given.push({ xid: f.targetXid });
  if (f.latest) given.push({ latest: true });
  if (f.immediate) given.push({ immediate: true });
  if (given.length !== 1) {
    throw new CliError(
      given.length === 0
        ? 'restore: name a target: --target-time, --target-name, --target-lsn, --target-xid, --latest or --immediate'
        : 'restore: give exactly one of --target-time, --target-name, --target-lsn, --target-xid, --latest, --immediate',
      2,
    );
  }
  return given[0]!;
}

const REFUSALS = new Set(['22023', '55000', 'P0002', '22004']);

/** A refused request: one line with the SQLSTATE; the window beside it, where it helps. */
async function refused(bm: BackupMgmt, e: unknown, json?: boolean): Promise<never> {
  const code = (e as { code?: string }).code;
  if (!code || !REFUSALS.has(code)) throw e;
  const window = await bm.recoverableWindow().catch(() => []);
  if (json) printJson({ error: describeError(e), sqlstate: code, recoverable_window: window });
  else for (const line of windowLines(window)) process.stderr.write(`${line}\n`);
  throw new CliError(describeError(e), 1);
}

function succeeded(row: RecoveryListRow): boolean {
  return row.recovery_status === 'COMPLETED' && row.validation_status === 'PASSED';
}

export function restoreCommand(): Command {
  return withCommon(new Command('restore').description('recover the cluster to a target into a new directory (initiate_recovery)'))
    .addOption(new Option('--target-time <time>', 'recover to this moment: 2026-11-22T01:02:03Z, now, -5min (see below)'))
    .addOption(new Option('--target-name <name>', 'recover to a restore point (backup-mgmt restore-point)'))
    .addOption(new Option('--target-lsn <lsn>', 'recover to this WAL position, e.g. 0/5000028'))
    .addOption(new Option('--target-xid <xid>', 'recover up to and including this transaction'))
    .addOption(new Option('--latest', 'replay all archived WAL'))
    .addOption(new Option('--immediate', 'stop as soon as the base backup is consistent'))
    .addOption(new Option('--backup <id>', 'restore from this full backup (hash key or business key)'))
    .addOption(new Option('--to <dir>', 'a new directory inside a restore root (default: <restore root>/<recovery key>)'))
    .addOption(new Option('--no-approval', 'skip the second person (backup_mgmt_admin only)'))
    .addOption(new Option('--wait', 'wait for the outcome (approval included), showing progress'))
    .addOption(timeoutOption())
    .addOption(repoOption('disaster recovery: plan and restore from this repository alone, no database (--to is the new data directory)'))
    .addOption(new Option('--start', 'with --repo: start the new primary and wait until it is promoted'))
    .addOption(new Option('--system-identifier <id>', 'with --repo: the cluster to restore when the repository holds several'))
    .addOption(new Option('--port <port>', "with --repo: the new primary's port (default: its configuration's)"))
    .addHelpText('after', HELP)
    .action(async (flags: Flags) => {
      if (flags.repo !== undefined) {
        const { runRepositoryRestore } = await import('./restore-repo.js');
        return runRepositoryRestore(flags, targetOf(flags));
      }
      const inputs = await import('../../client/inputs.js');
      // Checked here (exit 2, nothing sent); the client takes the same input.
      const options = {
        target: targetOf(flags),
        restoreDirectory: flags.to === undefined ? undefined : parseInput(absoluteDir, flags.to, '--to'),
        approvalRequired: flags.approval,
        backupId: flags.backup,
      } as InitiateRecoveryOptions;
      parseInput(inputs.InitiateRecoveryOptions, options, 'restore');
      const timeoutMs = parseTimeoutMs(flags.timeout);
      await withClient(flags.databaseUrl, async (bm) => {
        let requested: RecoveryListRow;
        try {
          requested = await bm.initiateRecovery(options);
        } catch (e) {
          return refused(bm, e, flags.json);
        }
        const human = !flags.json;
        if (human) {
          process.stdout.write(`${requested.recovery_bk} ${requested.recovery_status}\n`);
          if (requested.plan) process.stdout.write(planSummary(requested.plan, requested.restore_directory));
          if (requested.recovery_status === 'PENDING') {
            process.stdout.write(`waiting for approval by a member of recovery_approver other than ${requested.initiated_by}:\n  backup-mgmt recovery approve ${requested.recovery_bk}\n`);
          }
        }
        if (!flags.wait) {
          if (flags.json) printRecovery(requested, true);
          return;
        }
        let final: RecoveryListRow;
        try {
          final = await timeoutExit(bm.awaitRecovery(requested.recovery_bk, { timeoutMs, onProgress: human ? recoveryProgressPrinter() : undefined }));
        } catch (e) {
          if (e instanceof CliError && e.exitCode === EXIT_TIMEOUT && flags.json) printJson(recoveryJson(await bm.getRecovery(requested.recovery_bk)));
          throw e;
        }
        if (flags.json) printJson(recoveryJson(final));
        else process.stdout.write(outcomeLine(final));
        if (!succeeded(final)) process.exitCode = 1;
      });
    });
}
