// `backup-mgmt migrate up | down | status`. The runner (node-pg-migrate) is
// imported lazily: every CLI start, archive_command's wal-push included, loads
// this file.
import { Command } from 'commander';
import { resolveDatabaseUrl } from '../config.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson, printTable } from '../output.js';

const say = (json?: boolean) => (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

export function migrateCommand(): Command {
  const cmd = new Command('migrate').description('install, upgrade or remove the backup_mgmt schema');

  withCommon(cmd.command('up').description('apply pending migrations and the functions from sql/'))
    .option('--policy <file>', 'then apply this backup policy file (see `policy apply`)')
    .action(async (opts: CommonOptions & { policy?: string }) => {
      const { migrateUp } = await import('../../migrate/runner.js');
      const databaseUrl = resolveDatabaseUrl(opts.databaseUrl);
      // A file that does not load or validate stops the deployment before it changes anything.
      if (opts.policy) await (await import('../policy-file.js')).loadPolicyFile(opts.policy);
      const result = await migrateUp(databaseUrl, say(opts.json));
      if (opts.policy) {
        const { applyPolicyFile, printApplied } = await import('./policy.js');
        const changes = await applyPolicyFile(databaseUrl, opts.policy, true);
        if (opts.json) return printJson({ ...result, policy: { file: opts.policy, applied: changes.length > 0, changes } });
        printApplied(opts.policy, changes);
      }
      if (opts.json) printJson(result);
      else if (!result.migrationsApplied.length && !result.functionsApplied) process.stdout.write('backup_mgmt is up to date\n');
      else process.stdout.write(`backup_mgmt installed: ${result.migrationsApplied.length} migration(s), functions ${result.functionsApplied ? 'applied' : 'unchanged'}\n`);
    });

  withCommon(cmd.command('down').description('remove everything the pack installed (schema, functions, pg_cron jobs, its roles)'))
    .action(async (opts: CommonOptions) => {
      const { migrateDown } = await import('../../migrate/runner.js');
      const result = await migrateDown(resolveDatabaseUrl(opts.databaseUrl), say(opts.json));
      if (opts.json) printJson(result);
      else process.stdout.write(`backup_mgmt removed (${result.migrationsReverted.length} migration(s) reverted)\n`);
    });

  withCommon(cmd.command('status').description('show applied and pending migrations'))
    .action(async (opts: CommonOptions) => {
      const { migrateStatus } = await import('../../migrate/runner.js');
      const status = await migrateStatus(resolveDatabaseUrl(opts.databaseUrl));
      if (opts.json) return printJson(status);
      printTable(status.migrations.map((m) => ({ migration: m.name, applied: m.appliedAt ? m.appliedAt.toISOString() : 'pending' })));
      const b = status.bundle;
      process.stdout.write(
        `functions (sql/): ${b.applied === null ? 'not installed' : b.applied === b.current ? 'up to date' : 'changed, run migrate up'}\n`,
      );
    });
  return cmd;
}
