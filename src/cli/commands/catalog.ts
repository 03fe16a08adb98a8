// `backup-mgmt catalog sync --repo DIR`: after a disaster recovery the
// catalog is the one of the recovery target; this brings back what the
// repository knows (backups, restore points, WAL, timelines, the recovery
// itself). The agent does the same when it starts (without the WAL part,
// which its registry scan does).
import { Command } from 'commander';
import { resolveDatabaseUrl } from '../config.js';
import { CliError, describeError } from '../errors.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson, printRecord } from '../output.js';
import { repoOption, resolveRepo } from '../repo-option.js';

interface Flags extends CommonOptions {
  repo?: string;
}

export function catalogCommand(): Command {
  const cmd = new Command('catalog').description('reconcile the catalog with the repository');
  cmd.addCommand(
    withCommon(new Command('sync').description('import what the repository knows and the catalog lacks'))
      .addOption(repoOption())
      .addHelpText('after', '\nExit codes: 0 synced, 1 refused (another system, a newer repository format) or failed, 2 usage.')
      .action(async (flags: Flags) => {
        const url = resolveDatabaseUrl(flags.databaseUrl);
        const repo = resolveRepo(flags.repo);
        const { realpath } = await import('node:fs/promises');
        const pg = (await import('pg')).default;
        const { catalogSync } = await import('../../dr/catalog-sync.js');
        const real = await realpath(repo).catch(() => {
          throw new CliError(`catalog sync: repository ${repo} does not exist`, 1);
        });
        const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'backup-mgmt catalog sync' });
        try {
          const summary = await catalogSync(pool, real, { registerWal: true });
          // The disaster recovery's target settings stay in postgresql.auto.conf
          // until reset; they would clash with another target in a later restore of a backup of this cluster.
          await resetRecoveryTargets(pool);
          if (flags.json) printJson(summary);
          else printRecord({ ...summary });
        } catch (e) {
          if (e instanceof CliError) throw e;
          throw new CliError(`catalog sync: ${describeError(e)}`, 1);
        } finally {
          await pool.end().catch(() => {});
        }
      }),
  );
  return cmd;
}

const TARGETS = ['recovery_target', 'recovery_target_time', 'recovery_target_xid', 'recovery_target_lsn', 'recovery_target_name'];

async function resetRecoveryTargets(pool: import('pg').Pool): Promise<void> {
  const r = await pool.query<{ su: boolean; rec: boolean; n: string }>(
    `SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS su, pg_catalog.pg_is_in_recovery() AS rec,
            (SELECT count(*) FROM pg_catalog.pg_file_settings WHERE name = ANY ($1) AND setting <> '' AND sourcefile LIKE '%postgresql.auto.conf') AS n`,
    [TARGETS],
  ).catch(() => undefined);
  if (!r || !r.rows[0]!.su || r.rows[0]!.rec || Number(r.rows[0]!.n) === 0) return;
  for (const t of TARGETS) await pool.query(`ALTER SYSTEM RESET ${t}`);
}
