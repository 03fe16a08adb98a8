// `backup-mgmt policy plan|apply FILE`: backup policy as code. The decisions
// are policy_plan() / policy_apply() in SQL; this loads the file, sends it and
// prints the rows. plan's exit codes follow `terraform plan -detailed-exitcode`
// so that CI can gate on it: 0 nothing to do, 2 changes, 1 any error.
import { Command, CommanderError, Option } from 'commander';
import { resolve } from 'node:path';
import pg from 'pg';
import { applyBackupPolicy, planBackupPolicy, type PolicyChange } from '../../client/policy/index.js';
import { resolveDatabaseUrl } from '../config.js';
import { CliError, describeError } from '../errors.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson } from '../output.js';
import { loadPolicyFile } from '../policy-file.js';
import { planSummary, printPlan } from '../policy-view.js';

export const PLAN_EXIT = { NO_CHANGES: 0, ERROR: 1, CHANGES: 2 } as const;

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Every failure of these commands is exit 1: 2 means "changes" for plan. */
function asError(e: unknown): CliError {
  if (e instanceof CliError) return e.exitCode === PLAN_EXIT.ERROR ? e : new CliError(e.message, PLAN_EXIT.ERROR);
  return new CliError(describeError(e), PLAN_EXIT.ERROR);
}

export async function withPolicyClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'backup-mgmt policy' });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The database names the path of a bad field (DETAIL "path: ..."); say which file it is in. */
async function inFile<T>(file: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (/^path: /.test((e as { detail?: string }).detail ?? '')) throw new CliError(`${resolve(file)}: ${describeError(e)}`, PLAN_EXIT.ERROR);
    throw e;
  }
}

/** Loads FILE and applies it; shared with `migrate up --policy`. */
export async function applyPolicyFile(databaseUrl: string, file: string, wait: boolean): Promise<PolicyChange[]> {
  const policy = await loadPolicyFile(file);
  return inFile(file, withPolicyClient(databaseUrl, (client) => applyBackupPolicy(client, policy, { wait })));
}

export function printApplied(file: string, changes: PolicyChange[]): void {
  if (changes.length === 0) {
    say(`policy ${file}: nothing to do, the database matches it`);
    return;
  }
  printPlan(changes, say);
  say(`policy ${file} applied`);
}

function errorsExitOne(cmd: Command): Command {
  return cmd.configureOutput({ outputError: () => {} }).exitOverride((err: CommanderError) => {
    if (err.exitCode === 0) throw err;
    throw new CliError(err.message.replace(/^error: /, ''), PLAN_EXIT.ERROR);
  });
}

export function policyCommand(): Command {
  const cmd = new Command('policy').description('backup policy as code: schedules, retention and health thresholds from a file');

  errorsExitOne(withCommon(cmd.command('plan').argument('<file>', 'policy file: .json, .js or .mjs (.ts with a TypeScript loader)')))
    .description('show what apply would change; exit 0 nothing to do, 2 changes, 1 error')
    .action(async (file: string, opts: CommonOptions) => {
      let changes: PolicyChange[];
      try {
        const databaseUrl = resolveDatabaseUrl(opts.databaseUrl);
        const policy = await loadPolicyFile(file);
        changes = await inFile(file, withPolicyClient(databaseUrl, (client) => planBackupPolicy(client, policy)));
      } catch (e) {
        throw asError(e);
      }
      const exitCode = changes.length ? PLAN_EXIT.CHANGES : PLAN_EXIT.NO_CHANGES;
      if (opts.json) printJson({ file, exit_code: exitCode, summary: planSummary(changes), changes });
      else if (!changes.length) say(`policy ${file}: no changes, the database matches it`);
      else {
        printPlan(changes, say);
        say(`run \`backup-mgmt policy apply ${file}\` to make these changes`);
      }
      process.exitCode = exitCode;
    });

  errorsExitOne(withCommon(cmd.command('apply').argument('<file>', 'policy file: .json, .js or .mjs (.ts with a TypeScript loader)')))
    .description('apply the policy in one transaction (serialised against other applies)')
    .addOption(new Option('--no-wait', 'fail at once if another apply is running instead of waiting for it'))
    .action(async (file: string, opts: CommonOptions & { wait: boolean }) => {
      let changes: PolicyChange[];
      try {
        changes = await applyPolicyFile(resolveDatabaseUrl(opts.databaseUrl), file, opts.wait);
      } catch (e) {
        throw asError(e);
      }
      if (opts.json) printJson({ file, applied: changes.length > 0, summary: planSummary(changes), changes });
      else printApplied(file, changes);
    });
  return cmd;
}
