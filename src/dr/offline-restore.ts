// `backup-mgmt restore --repo DIR --to DATADIR <target>`: a new primary from
// the repository alone, no catalog, no DATABASE_URL. Plans with the offline
// planner (plan_recovery()'s rules), checks every precondition before writing
// anything, extracts the base backup while proving the planned WAL intact,
// and configures recovery with archiving left ON into the same repository,
// so the new timeline is archived where the next disaster will look for it.
// The repository may be s3://bucket/prefix (the off-host copy): its metadata
// and WAL are read from there, the base backup streams from the object store
// into extraction, and the private key is checked before anything is written.
import { existsSync } from 'node:fs';
import { appendFile, chmod, lstat, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { confBlock } from '../pg/server-config.js';
import { postgresIds } from '../pg/postgres-user.js';
import { extractBackup, type BackupArchives } from '../storage/extract.js';
import { HISTORY_DIR, listSystemIdentifiers, walRoot } from '../storage/layout.js';
import { assertCanDecrypt, openOffsiteReader, sealedBackupArchives, type OffsiteReader } from '../storage/offsite/repository.js';
import { CONFIG_ENV } from '../storage/offsite/env-file.js';
import { isObjectStoreLocation, openRepository, type RecoveryRecord } from '../storage/repo-metadata.js';
import { DEFAULT_WAL_SEGMENT_SIZE } from '../storage/wal-names.js';
import { REPOSITORY_ENV } from '../storage/repository-root.js';
import { isRoot, pgTool, runAsPostgres, runCommand } from '../util/process.js';
import { archiveCommand, shellQuote, spooledRestoreCommand } from '../util/wal-commands.js';
import { sealedCommitTimes, spoolSealedWal } from './sealed-wal.js';
import { listArchivedWalOffsite } from '../storage/wal-list-offsite.js';
import { giveToServerUser, scrubDataDirectory } from '../agent/restore-config.js';
import { fatalLine } from '../agent/restored-server.js';
import { createSpoolDir, SPOOL_DIR_NAME, spoolOne } from '../agent/wal-prefetch.js';
import { planOffline, type OfflinePlan, type TargetKind } from './plan.js';
import { RepositoryWalIndex } from './wal-index.js';

export class RestoreRefused extends Error {}

export interface OfflineRestoreOptions {
  repo: string;
  to: string;
  kind: TargetKind;
  value: string | null;
  backupBk?: string;
  systemIdentifier?: string;
  start: boolean;
  progress?: (line: string) => void;
  /** How long --start waits for the promotion. */
  startTimeoutMs?: number;
  /** The new primary's port instead of the one its configuration names. */
  port?: number;
}

export interface OfflineRestoreResult {
  recovery_bk: string;
  system_identifier: string;
  data_directory: string;
  plan: OfflinePlan;
  started: boolean;
  promoted: boolean;
  timeline: number | null;
  seconds: number;
  phases_seconds: Record<string, number>;
}

/** Which of the repository's clusters: the one asked for, or its only one. */
export async function chooseSystem(repo: string, asked?: string, listed?: string[]): Promise<string> {
  const held = listed ?? (await listSystemIdentifiers(repo));
  if (asked !== undefined) {
    if (!held.includes(asked)) throw new RestoreRefused(`repository ${repo} holds no backups of system ${asked} (it holds: ${held.join(', ') || 'none'})`);
    return asked;
  }
  if (held.length === 1) return held[0]!;
  throw new RestoreRefused(
    held.length === 0 ? `${repo} holds no cluster: is it a backup-mgmt repository?` : `repository ${repo} holds several clusters (${held.join(', ')}): pass --system-identifier`,
  );
}

/** The `<sysid>` prefixes of an off-host repository (one listing: object stores have no directories). */
async function offsiteSystems(reader: OffsiteReader): Promise<string[]> {
  const ids = new Set<string>();
  for await (const o of reader.store.backend.list('')) {
    const first = o.key.split('/')[0]!;
    if (/^[0-9]{1,20}$/.test(first) && o.key.length > first.length) ids.add(first);
  }
  return [...ids].sort();
}

/**
 * The repository's metadata, restore points and WAL index: a directory, or
 * s3://bucket/prefix (then `offsite` is the reader of its encrypted objects).
 */
export async function loadRepository(repo: string, asked?: string) {
  const offsite = isObjectStoreLocation(repo) ? await openOffsiteReader(repo) : undefined;
  const store = offsite?.metadata ?? openRepository(repo);
  await store.assertReadable();
  const sysid = await chooseSystem(repo, asked, offsite && asked === undefined ? await offsiteSystems(offsite) : offsite ? [asked!] : undefined);
  const backups = await store.listBackups(sysid);
  if (offsite && backups.length === 0 && asked !== undefined) throw new RestoreRefused(`repository ${repo} holds no backups of system ${asked}`);
  const restorePoints = await store.listRestorePoints(sysid);
  const segSize = backups.find((b) => b.wal_segment_size)?.wal_segment_size ?? DEFAULT_WAL_SEGMENT_SIZE;
  const wal = offsite
    ? RepositoryWalIndex.of(await listArchivedWalOffsite(offsite.store, sysid), segSize, (w) => sealedCommitTimes(offsite.store, w))
    : await RepositoryWalIndex.open(repo, sysid, segSize);
  return { store, sysid, backups, restorePoints, segSize, wal, offsite };
}

/** The target directory: absent (its parent exists) or empty, and the server user's or ours. */
async function checkTargetDir(dir: string): Promise<{ exists: boolean }> {
  if (!dir.startsWith('/') || dir.split('/').includes('..') || dir.includes('\0')) throw new RestoreRefused(`--to ${dir}: give an absolute path without ..`);
  if (!existsSync(dir)) {
    if (!existsSync(dirname(dir))) throw new RestoreRefused(`--to ${dir}: its parent directory does not exist`);
    return { exists: false };
  }
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new RestoreRefused(`--to ${dir} exists and is not a directory`);
  const entries = await readdir(dir);
  if (entries.length > 0) throw new RestoreRefused(`--to ${dir} is not empty (${entries.length} entries): a restore never writes over existing files`);
  const me = process.getuid?.() ?? -1;
  const server = isRoot() ? postgresIds().uid : me;
  if (st.uid !== server && st.uid !== me) {
    throw new RestoreRefused(`--to ${dir} is owned by uid ${st.uid}, neither the server's OS user (uid ${server}) nor you: refusing to restore there`);
  }
  // A running cluster's socket or pid file would have made it non-empty; a data directory above it would be worse.
  for (let d = dirname(await realpath(dir)); ; d = dirname(d)) {
    if (existsSync(join(d, 'PG_VERSION'))) throw new RestoreRefused(`--to ${dir} lies inside the PostgreSQL data directory ${d}`);
    if (dirname(d) === d) break;
  }
  return { exists: true };
}

/** Segments spooled ahead of replay at most (16 MiB each); the rest go through wal-fetch. */
const MAX_SPOOLED = 64;

/**
 * The WAL to replay, decompressed and proven against the SHA-256 in its name
 * into a spool in the data directory, as the agent's restores read ahead:
 * restore_command then only moves a file into place instead of starting a
 * wal-fetch per segment, and a damaged segment refuses the restore before
 * the server starts. Beyond MAX_SPOOLED, wal-fetch checks each at replay
 * (and stops recovery on damage).
 */
async function spoolPlannedWal(repo: string, sysid: string, wal: RepositoryWalIndex, plan: OfflinePlan, spoolDir: string, offsite?: OffsiteReader): Promise<void> {
  const planned = wal.segments(plan.wal.timeline_id).filter((s) => s.name >= plan.wal.from_segment && s.name <= plan.wal.to_segment);
  let spool: (name: string) => Promise<unknown>;
  let names: string[];
  if (offsite) {
    // restore_command cannot reach the object store on its own here (no
    // local repository): every planned segment, and the history of the
    // timeline recovery starts on, is spooled and proven before the start.
    // The bound is the planned WAL on disk, as pg_wal would hold it.
    const byName = new Map(wal.all.map((w) => [w.fileName, w]));
    const history = plan.base.timeline && plan.base.timeline > 1 ? [`${plan.base.timeline.toString(16).toUpperCase().padStart(8, '0')}.history`] : [];
    names = [...history.filter((h) => byName.has(h)), ...planned.map((s) => s.name)];
    spool = (name) => spoolSealedWal(offsite.store, byName.get(name)!, spoolDir, sysid);
  } else {
    names = planned.slice(0, MAX_SPOOLED).map((s) => s.name);
    const signal = new AbortController().signal;
    const opts = { repo, systemIdentifier: sysid, fromSegment: plan.wal.from_segment, toSegment: plan.wal.to_segment, spoolDir, signal, onError: () => {} };
    spool = (name) => spoolOne(opts, name, 0);
  }
  let next = 0;
  const worker = async () => {
    while (next < names.length) await spool(names[next++]!);
  };
  await Promise.all([worker(), worker()]);
}

/** restore_command of a restore from an off-host repository: the spool holds all it may have. */
function spoolOnlyRestoreCommand(spoolDir: string): string {
  const spooled = `${shellQuote(spoolDir)}/$f`;
  return ['f=%f', `if [ -f ${spooled} ]; then exec mv -f ${spooled} %p; fi`, 'exit 1'].join('; ');
}

/**
 * The new primary archives into a local repository: the same one, or for an
 * off-host repository the local one named by $BACKUP_MGMT_REPO (whose
 * wal-push, with the --config file, also sends it off-host). None: off.
 */
function archiveSettings(repo: string, offsite: OffsiteReader | undefined, say: (l: string) => void): Record<string, string> {
  if (!offsite) return { archive_mode: 'on', archive_command: archiveCommand(repo) };
  const local = process.env[REPOSITORY_ENV];
  if (local && local.startsWith('/')) {
    const config = process.env[CONFIG_ENV];
    return { archive_mode: 'on', archive_command: `${archiveCommand(local)}${config ? ` --config ${shellQuote(config)}` : ''}` };
  }
  say(`warning: archiving is off in the restored cluster: set ${REPOSITORY_ENV} to a local repository (and ${CONFIG_ENV}) to archive its new timeline`);
  return { archive_mode: 'off' };
}

const TARGET_LINE = /^\s*recovery_target(_time|_xid|_lsn|_name)?\s*=/;

function newRecoveryBk(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const us = `${p(d.getUTCMilliseconds(), 3)}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
  return `RECOVERY_DISASTER_${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}_${us}`;
}

/** /etc/postgresql/<version>/<name> whose configuration names `dataDir` as its data directory (Debian). */
export async function debianClusterOf(dataDir: string): Promise<{ version: string; name: string; log: string } | undefined> {
  const root = '/etc/postgresql';
  if (!existsSync(root)) return undefined;
  for (const version of await readdir(root)) {
    if (!existsSync(join(root, version)) || !(await stat(join(root, version))).isDirectory()) continue;
    for (const name of await readdir(join(root, version))) {
      const conf = join(root, version, name, 'postgresql.conf');
      if (!existsSync(conf)) continue;
      const m = /^\s*data_directory\s*=\s*'([^']*)'/m.exec(await readFile(conf, 'utf8'));
      if (m && m[1]!.replace(/\/+$/, '') === dataDir.replace(/\/+$/, '')) {
        return { version, name, log: `/var/log/postgresql/postgresql-${version}-${name}.log` };
      }
    }
  }
  return undefined;
}

async function controlState(dataDir: string): Promise<{ state: string; timeline: number | null }> {
  const { stdout } = await runCommand(pgTool('pg_controldata'), [dataDir], { env: { LC_ALL: 'C' }, timeoutMs: 30_000 });
  const state = /Database cluster state:\s*(.+)/.exec(stdout)?.[1]?.trim() ?? 'unknown';
  const tl = /Latest checkpoint's TimeLineID:\s*(\d+)/.exec(stdout)?.[1];
  return { state, timeline: tl ? Number(tl) : null };
}

/** postmaster.pid's status line says "ready" once the server accepts connections. */
async function postmasterReady(dataDir: string): Promise<boolean> {
  try {
    return (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

async function postmasterAlive(dataDir: string): Promise<boolean> {
  try {
    const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function planFromRepository(o: Pick<OfflineRestoreOptions, 'repo' | 'kind' | 'value' | 'backupBk' | 'systemIdentifier'>) {
  const r = await loadRepository(o.repo, o.systemIdentifier);
  const plan = await planOffline({
    systemIdentifier: r.sysid,
    segSize: r.segSize,
    backups: r.backups,
    restorePoints: r.restorePoints,
    wal: r.wal,
    kind: o.kind,
    value: o.value,
    backupBk: o.backupBk ?? null,
  });
  return { ...r, plan };
}

export async function offlineRestore(o: OfflineRestoreOptions): Promise<OfflineRestoreResult> {
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  let mark = t0;
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - mark) / 1000;
    mark = now;
  };
  const say = o.progress ?? (() => {});
  const repo = isObjectStoreLocation(o.repo)
    ? o.repo.replace(/\/+$/, '')
    : await realpath(o.repo).catch(() => {
        throw new RestoreRefused(`repository ${o.repo} does not exist`);
      });
  // Everything that can refuse does so before anything is written.
  const target = await checkTargetDir(o.to);
  const { store, sysid, wal, plan, offsite } = await planFromRepository({ ...o, repo });
  const backupPath = store.resolve(plan.base.path!);
  let source: string | BackupArchives = backupPath;
  if (offsite) {
    const archives = await sealedBackupArchives(offsite.store, plan.base.path!);
    if (!archives.archives.some((a) => a.role === 'base')) throw new RestoreRefused(`the files of backup ${plan.base.backup_bk} are missing from ${backupPath}`);
    if (archives.problems.length) throw new RestoreRefused(`backup ${plan.base.backup_bk} in ${backupPath}: ${archives.problems.join('; ')}`);
    // The key, before a byte is written: a missing or wrong one names the fingerprint expected.
    assertCanDecrypt(offsite);
    source = archives;
  } else if (!existsSync(backupPath)) throw new RestoreRefused(`the files of backup ${plan.base.backup_bk} are missing from ${backupPath}`);
  phase('planning');
  say(`repository: ${offsite ? 's3' : 'local'} ${repo}`);
  say(`plan: backup ${plan.base.backup_bk} (timeline ${plan.base.timeline}, ended ${plan.base.stop_time}), WAL ${plan.wal.from_segment} .. ${plan.wal.to_segment}`);

  const dir = o.to;
  const spoolDir = join(dir, SPOOL_DIR_NAME);
  const recoveryBk = newRecoveryBk();
  const startedAt = new Date().toISOString();
  let written = false;
  let walCheck: Promise<Error | undefined> | undefined;
  let pauseThenPromote = false;
  try {
    if (!target.exists) await mkdir(dir, { mode: 0o700 });
    written = true;
    await chmod(dir, 0o700);
    // The WAL to replay is spooled and proven intact while the base is
    // extracted: a damaged segment refuses the restore instead of stopping replay early.
    await createSpoolDir(spoolDir);
    walCheck = spoolPlannedWal(repo, sysid, wal, plan, spoolDir, offsite).then(
      () => undefined,
      (e: Error) => e,
    );
    const extracted = await extractBackup(source, dir).catch((e: Error) => {
      throw new RestoreRefused(`backup ${plan.base.backup_bk} is damaged or unreadable: ${e.message.split('\n')[0]}`);
    });
    const recorded = new Map((plan.base.files ?? []).map((f) => [f.name, f.sha256]));
    for (const [name, sha] of Object.entries(extracted.sha256)) {
      if (recorded.get(name) !== sha) {
        throw new RestoreRefused(`backup ${plan.base.backup_bk} is damaged: ${name} has SHA-256 ${sha}, the repository recorded ${recorded.get(name) ?? 'nothing'}`);
      }
    }
    const walProblem = await walCheck;
    if (walProblem) throw new RestoreRefused(`the WAL this restore needs is damaged: ${walProblem.message}`);
    phase('restoring');
    await scrubDataDirectory(dir);

    // Recovery settings, last in postgresql.auto.conf. A target carried in
    // by the backup (a copy of a cluster that was itself restored this way)
    // goes first: PostgreSQL refuses two targets, even an empty second one.
    const settings: Record<string, string | number | boolean> = {};
    // With --start this command promotes: a pause at the target with
    // pg_ctl promote requested, which opens for writes without the
    // immediate checkpoint that recovery_target_action = promote would wait
    // for. Started by someone else, it promotes itself.
    pauseThenPromote = o.start && plan.restore_settings.recovery_target_action === 'promote';
    Object.assign(settings, plan.restore_settings, pauseThenPromote ? { recovery_target_action: 'pause' } : {}, o.port ? { port: o.port } : {}, {
      restore_command: offsite ? spoolOnlyRestoreCommand(spoolDir) : spooledRestoreCommand(spoolDir, join(walRoot(repo, sysid), HISTORY_DIR), repo, sysid),
      ...archiveSettings(repo, offsite, say),
      recovery_min_apply_delay: 0,
    });
    const auto = join(dir, 'postgresql.auto.conf');
    if (existsSync(auto)) {
      const kept = (await readFile(auto, 'utf8')).split('\n').filter((l) => !TARGET_LINE.test(l));
      await writeFile(auto, kept.join('\n'), { mode: 0o600 });
    }
    if (!existsSync(auto)) await writeFile(auto, '# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n', { mode: 0o600 });
    await appendFile(auto, confBlock(settings, `backup_mgmt disaster recovery ${recoveryBk} from ${repo}`));
    await writeFile(join(dir, 'recovery.signal'), '', { mode: 0o600 });
    await mkdir(join(dir, 'log'), { recursive: true, mode: 0o700 });
    // The spool is the server user's already.
    await giveToServerUser([dir]);
    await giveToServerUser((await readdir(dir)).filter((f) => f !== SPOOL_DIR_NAME).map((f) => join(dir, f)), true);
    phase('configuring');
  } catch (e) {
    // Nothing half-made stays: the directory is as it was (empty, or absent).
    await walCheck;
    if (written) {
      if (target.exists) for (const f of await readdir(dir)) await rm(join(dir, f), { recursive: true, force: true });
      else await rm(dir, { recursive: true, force: true });
    }
    throw e;
  }

  const record: RecoveryRecord = {
    recovery_bk: recoveryBk,
    system_identifier: sysid,
    target_kind: o.kind,
    target_value: (plan.target.value as string | undefined) ?? o.value,
    plan: { ...plan, base: { backup_bk: plan.base.backup_bk, backup_hk: plan.base.backup_hk, timeline_id: plan.base.timeline, start_lsn: plan.base.start_lsn, stop_lsn: plan.base.stop_lsn, stop_time: plan.base.stop_time } },
    started_at: startedAt,
    finished_at: null,
    duration_seconds: null,
    data_directory: dir,
    repository: repo,
  };

  let promoted = false;
  let timeline: number | null = null;
  if (o.start) {
    const debian = await debianClusterOf(dir);
    const logFile = debian?.log ?? join(dir, 'log', 'backup_mgmt_disaster_recovery.log');
    say(debian ? `starting with pg_ctlcluster ${debian.version} ${debian.name} start` : `starting with pg_ctl (log ${logFile})`);
    const logStart = existsSync(logFile) ? (await stat(logFile)).size : 0;
    const why = async () => {
      const text = existsSync(logFile) ? (await readFile(logFile, 'utf8')).slice(logStart) : '';
      return fatalLine(text) ?? 'see the server log';
    };
    try {
      if (debian) await runCommand('pg_ctlcluster', [debian.version, debian.name, 'start'], { timeoutMs: 600_000 });
      else await runAsPostgres(pgTool('pg_ctl'), ['-D', dir, '-l', logFile, '-W', 'start'], { timeoutMs: 120_000 });
    } catch (e) {
      throw new RestoreRefused(`the restored cluster did not start: ${await why()} (${(e as Error).message.split('\n')[0]})`);
    }
    const deadline = Date.now() + (o.startTimeoutMs ?? 3600_000);
    let seenAlive = false;
    let promoteAsked = false;
    for (;;) {
      const s = await controlState(dir);
      // Asked during replay, the promotion is taken the moment replay pauses
      // at the target (archive recovery looks for it only then), with no
      // pause-loop second in between.
      if (pauseThenPromote && !promoteAsked && s.state === 'in archive recovery' && (await postmasterAlive(dir))) {
        promoteAsked = await runAsPostgres(pgTool('pg_ctl'), ['-D', dir, 'promote', '-W'], { timeoutMs: 60_000 }).then(
          () => true,
          () => false,
        );
      }
      if (s.state === 'in production' && (await postmasterReady(dir))) {
        promoted = true;
        // A promotion without a checkpoint leaves the control file's
        // checkpoint on the old timeline; the new one's history file is in pg_wal.
        const histories = (await readdir(join(dir, 'pg_wal')).catch(() => [] as string[])).filter((f) => /^[0-9A-F]{8}\.history$/.test(f)).map((f) => parseInt(f.slice(0, 8), 16));
        timeline = Math.max(s.timeline ?? 1, ...histories);
        break;
      }
      const alive = await postmasterAlive(dir);
      if (alive) seenAlive = true;
      else if (seenAlive || Date.now() > deadline - (o.startTimeoutMs ?? 3600_000) + 30_000) {
        throw new RestoreRefused(`recovery stopped before promotion: ${await why()}`);
      }
      if (Date.now() > deadline) throw new RestoreRefused('recovery did not finish in time; the server is still replaying');
      await sleep(100);
    }
    phase('recovering');
    // Replay took what it needed from the spool.
    await rm(spoolDir, { recursive: true, force: true });
    record.finished_at = new Date().toISOString();
    record.duration_seconds = Math.round(performance.now() - t0) / 1000;
  }
  await store.writeRecovery(record).catch((e) => say(`warning: could not write the recovery record into the repository: ${(e as Error).message}`));
  return {
    recovery_bk: recoveryBk,
    system_identifier: sysid,
    data_directory: dir,
    plan,
    started: o.start,
    promoted,
    timeline,
    seconds: Math.round(performance.now() - t0) / 1000,
    phases_seconds: phases,
  };
}
