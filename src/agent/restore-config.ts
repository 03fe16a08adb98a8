// Turning an extracted base backup into a cluster that recovers to its target
// and can never harm the source: recovery.signal and the recovery settings,
// archiving off, its own port and a private socket, its own pg_hba, and
// pg_cron unable to run the source's jobs. Everything goes into
// postgresql.auto.conf, which PostgreSQL reads last, so it wins over anything
// the copied postgresql.conf (or its includes) says.
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postgresIds } from '../pg/postgres-user.js';
import { confBlock, type Settings } from '../pg/server-config.js';
import { tablespaceLinks } from '../storage/extract.js';
import { isRoot, pgTool, runAsPostgres, runCommand } from '../util/process.js';
import { JobFailure } from './job-context.js';

export interface RecoveryConfig {
  dataDir: string;
  port: number;
  socketDir: string;
  restoreCommand: string;
  /** The plan's restore_settings: recovery_target* only. */
  restoreSettings: Record<string, string | boolean>;
  clusterName: string;
  /** shared_preload_libraries of the backup includes pg_cron. */
  pgCron: boolean;
  /** … includes timescaledb (its job scheduler runs in background workers). */
  timescaledb?: boolean;
  /** The copied configuration's external_pid_file: a path of the source's, if set. */
  externalPidFile: string;
  /** The copy's PG_VERSION. */
  pgMajor: number;
}

/** The server's OS user owns what a root agent writes; otherwise the agent's user already does. */
export async function giveToServerUser(paths: string[], recursive = false): Promise<void> {
  if (!isRoot() || paths.length === 0) return;
  const { uid, gid } = postgresIds();
  if (recursive) {
    await runCommand('chown', ['-R', `${uid}:${gid}`, '--', ...paths], { timeoutMs: 600_000 });
    return;
  }
  for (const p of paths) await chown(p, uid, gid);
}

/**
 * Files of the source's running state that must not come along, and
 * tablespaces: the tar members went into pg_tblspc/<oid> directories, so
 * tablespace_map (which would re-create links to the source's locations at
 * startup) goes, and no link to elsewhere may remain.
 */
export async function scrubDataDirectory(dataDir: string): Promise<void> {
  for (const f of ['postmaster.pid', 'postmaster.opts', 'standby.signal', 'recovery.signal']) {
    await rm(join(dataDir, f), { force: true });
  }
  const map = join(dataDir, 'tablespace_map');
  if (existsSync(map)) {
    const oids = (await readFile(map, 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((o) => /^[0-9]+$/.test(o));
    const present = new Set(existsSync(join(dataDir, 'pg_tblspc')) ? await readdir(join(dataDir, 'pg_tblspc')) : []);
    const missing = oids.filter((o) => !present.has(o));
    if (missing.length > 0) throw new JobFailure(`the backup lacks the archive of tablespace(s) ${missing.join(', ')}`);
    await rm(map);
  }
  const links = await tablespaceLinks(dataDir);
  if (links.length > 0) {
    throw new JobFailure(`pg_tblspc/${links.join(', pg_tblspc/')} would link to the source's tablespaces: the backup has no archive for them`);
  }
}

/** `postgres -C name`: the value the copied configuration gives a setting. */
export async function configuredValue(dataDir: string, name: string): Promise<string> {
  const { stdout } = await runAsPostgres(pgTool('postgres'), ['-D', dataDir, '-C', name], { timeoutMs: 60_000 });
  return stdout.trim();
}

export function preloads(sharedPreloadLibraries: string, library: string): boolean {
  return sharedPreloadLibraries
    .split(',')
    .map((l) => l.trim().replace(/^"|"$/g, '').replace(/^\$libdir\//, ''))
    .includes(library);
}

const TARGET_SETTINGS = ['recovery_target', 'recovery_target_time', 'recovery_target_xid', 'recovery_target_lsn', 'recovery_target_name'];

/**
 * A plan's "promote at the target" is carried out as a pause at the target
 * followed by pg_ctl promote. Reaching a target with recovery_target_action =
 * promote makes PostgreSQL write an immediate checkpoint before it opens for
 * writes (a second per 250 MB of buffers dirtied by the replay); a promotion
 * requested while paused writes an end-of-recovery record instead and lets
 * that checkpoint run spread out afterwards. Same outcome, sooner. (Requested
 * during replay, the promotion happens the moment the pause begins, but the
 * rows are then counted on the promoted copy: 4.2 s instead of 1.2 s at
 * pgbench scale 50, measured; on the paused copy they are counted while the
 * promotion waits for the pause loop's one-second sleep.)
 */
export function promotesAfterPause(restoreSettings: RecoveryConfig['restoreSettings']): boolean {
  return restoreSettings.recovery_target_action === 'promote' && TARGET_SETTINGS.some((k) => k in restoreSettings);
}

export function recoverySettings(c: RecoveryConfig): Settings {
  const settings: Settings = {
    ...c.restoreSettings,
    ...(promotesAfterPause(c.restoreSettings) ? { recovery_target_action: 'pause' } : {}),
    restore_command: c.restoreCommand,
    // A restored copy must never push a new timeline into the source's archive.
    archive_mode: 'off',
    port: c.port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: c.socketDir,
    unix_socket_permissions: '0700',
    // The copy's own files, never the source's (Debian keeps them in /etc).
    hba_file: join(c.dataDir, 'pg_hba.conf'),
    ident_file: join(c.dataDir, 'pg_ident.conf'),
    // Watch replay (pg_last_wal_replay_lsn) before promotion; a pause at the target needs it.
    hot_standby: 'on',
    // A delayed standby's setting copied from the source would hold back the
    // replay of every commit (archive recovery honours it too).
    recovery_min_apply_delay: 0,
    // No standby of the source will ever confirm a commit of the copy.
    synchronous_standby_names: '',
    // Once promoted, the source's subscriptions would connect to their
    // publishers and consume the real subscriber's slots: no apply workers.
    max_logical_replication_workers: 0,
    max_sync_workers_per_subscription: 0,
    primary_conninfo: '',
    primary_slot_name: '',
    // Startup failures must land in the log the agent reads.
    logging_collector: 'off',
    cluster_name: c.clusterName.slice(0, 63),
  };
  // The start-up flush of the whole copy as one syncfs, not an fsync per file
  // (the agent flushed most of it behind the extraction already).
  if (c.pgMajor >= 14 && process.platform === 'linux') settings.recovery_init_sync_method = 'syncfs';
  // The source's pid file (e.g. under /var/run/postgresql) must not be overwritten; '' would log an error.
  if (c.externalPidFile !== '') settings.external_pid_file = join(c.dataDir, 'backup_mgmt_external.pid');
  // Preloaded libraries stay (the copy's data may need them); those that run
  // jobs of their own get no workers.
  if (c.timescaledb) settings['timescaledb.max_background_workers'] = 0;
  if (c.pgCron) {
    // The copy holds the source's cron.job table: none of it may run here.
    settings['cron.launch_active_jobs'] = 'off';
    settings['cron.max_running_jobs'] = 0;
    settings['cron.host'] = c.socketDir;
  }
  return settings;
}

// Only the server's OS user (and root) can reach the private socket directory,
// so trusting it gives nobody more than they already have over the files.
const HBA_HEADER = `# backup_mgmt restore: validation through the private socket (mode 0700)\nlocal all all trust\n`;

export async function writeRecoveryConfig(c: RecoveryConfig): Promise<void> {
  const { dataDir } = c;
  const created: string[] = [];
  const ensure = async (name: string, content: string) => {
    const p = join(dataDir, name);
    if (!existsSync(p)) {
      await writeFile(p, content, { mode: 0o600 });
      created.push(p);
    }
    return p;
  };
  // Debian keeps the configuration outside the data directory: give the copy its own.
  await ensure('postgresql.conf', '# created by backup_mgmt for a restored copy; settings are in postgresql.auto.conf\n');
  await ensure('pg_ident.conf', '');
  const hba = join(dataDir, 'pg_hba.conf');
  const hbaBody = existsSync(hba) ? await readFile(hba, 'utf8') : 'host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n';
  // Written again when the port moves: the header goes in once.
  if (!hbaBody.startsWith(HBA_HEADER)) await writeFile(hba, `${HBA_HEADER}${hbaBody}`, { mode: 0o600 });
  created.push(hba);
  const auto = await ensure('postgresql.auto.conf', '# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n');
  await appendFile(auto, confBlock(recoverySettings(c), `backup_mgmt restore ${c.clusterName}: recovery settings (last wins)`));
  created.push(auto);
  created.push(await ensure('recovery.signal', ''));
  await mkdir(c.socketDir, { recursive: true, mode: 0o700 });
  // chmod and chown follow links: the socket directory must be a directory of its own.
  const sock = await lstat(c.socketDir);
  if (!sock.isDirectory()) throw new JobFailure(`socket directory ${c.socketDir} is not a directory (a link?): refusing to use it`);
  await chmod(c.socketDir, 0o700);
  created.push(c.socketDir);
  const logDir = join(dataDir, 'log');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  created.push(logDir);
  await giveToServerUser([...new Set(created)]);
}

/** The log pg_ctl -l writes; created here so that it belongs to the server's user. */
export async function createLogFile(path: string): Promise<void> {
  await writeFile(path, '', { flag: 'a', mode: 0o600 });
  await giveToServerUser([path]);
}
