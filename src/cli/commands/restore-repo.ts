// `backup-mgmt restore --repo DIR|s3://bucket/prefix --to DATADIR <target>
// [--backup ID] [--start]`: the disaster-recovery path of `restore`, with no
// database. From s3:// the private key is BACKUP_MGMT_DECRYPT_IDENTITY_FILE.
import { CliError, describeError } from '../errors.js';
import { printJson } from '../output.js';
import { parseSystemIdentifier, resolveRepoLocation } from '../repo-option.js';

export interface RepoRestoreFlags {
  repo?: string;
  to?: string;
  start?: boolean;
  systemIdentifier?: string;
  backup?: string;
  json?: boolean;
  port?: string;
}

export async function runRepositoryRestore(flags: RepoRestoreFlags, target: Record<string, unknown>): Promise<void> {
  if (flags.to === undefined) throw new CliError('restore --repo: --to DATADIR is required (the data directory of the new primary)', 2);
  const to = flags.to.replace(/\/+$/, '') || '/';
  if (!to.startsWith('/') || to.split('/').includes('..') || to.includes('\0')) throw new CliError('restore --repo: --to must be an absolute path without ..', 2);
  if (flags.port !== undefined && !/^[0-9]{1,5}$/.test(flags.port)) throw new CliError('restore --repo: --port must be a TCP port number', 2);
  const port = flags.port === undefined ? undefined : Number(flags.port);
  if (port !== undefined && (port < 1 || port > 65535)) throw new CliError('restore --repo: --port must be between 1 and 65535', 2);
  const [kind, raw] = Object.entries(target)[0]!;
  const value = typeof raw === 'string' ? raw : null;
  const { offlineRestore, RestoreRefused } = await import('../../dr/offline-restore.js');
  const { PlanError } = await import('../../dr/plan.js');
  const { RepositoryFormatError } = await import('../../storage/repo-metadata.js');
  const { OffsiteConfigError } = await import('../../storage/offsite/config.js');
  try {
    const r = await offlineRestore({
      repo: resolveRepoLocation(flags.repo),
      to,
      kind: kind as 'time',
      value,
      backupBk: flags.backup,
      systemIdentifier: parseSystemIdentifier(flags.systemIdentifier),
      start: flags.start === true,
      port,
      progress: flags.json ? undefined : (line) => process.stdout.write(`${line}\n`),
    });
    if (flags.json) printJson(r);
    else {
      const p = r.plan;
      process.stdout.write(`${r.recovery_bk}: ${r.data_directory} from backup ${p.base.backup_bk}, WAL ${p.wal.from_segment} .. ${p.wal.to_segment}, target ${String(p.target.kind)} ${String(p.target.value ?? '')}\n`);
      const repo = resolveRepoLocation(flags.repo);
      // catalog sync reads a local repository: after a restore from S3 the agent's copies bring the catalog back.
      const next = repo.startsWith('s3://')
        ? 'restored from the off-host repository. Next: start the agent with its repositories configured.'
        : `archiving into the repository. Next: backup-mgmt catalog sync --repo ${repo}, then start the agent.`;
      process.stdout.write(
        r.promoted
          ? `promoted on timeline ${r.timeline} after ${r.seconds} s; ${next}\n`
          : `ready: start it (pg_ctlcluster <version> <name> start, or pg_ctl -D ${r.data_directory} start); it recovers, promotes and ${repo.startsWith('s3://') ? 'archives as configured above' : 'archives into the repository'}.\n`,
      );
    }
  } catch (e) {
    if (e instanceof PlanError) throw new CliError(`restore --repo: ${e.message} [SQLSTATE ${e.sqlstate}]`, 1);
    if (e instanceof RestoreRefused || e instanceof RepositoryFormatError || e instanceof OffsiteConfigError) throw new CliError(`restore --repo: ${e.message}`, 1);
    throw new CliError(`restore --repo: ${describeError(e)}`, 1);
  }
}
