// RESTORE job (PROTOCOL.md "RESTORE job"): a recovery or a restore drill.
// Prepare the directory, find the repository that holds the base backup
// (local, else off-host: restore-source.ts), extract it, check it against its
// manifest, configure recovery, start PostgreSQL, wait until it reached the
// target, validate and promote it, then keep it running (recovery) or stop and
// remove it (drill). The RTO is measured from the claim to the validated cluster.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { allocatePort, releasePort } from '../pg/ports.js';
import { extractBackup, type ExtractResult } from '../storage/extract.js';
import { CONFIG_ENV } from '../storage/offsite/env-file.js';
import { parseLsn } from '../storage/wal-names.js';
import { CommandError, pgTool, runCommand } from '../util/process.js';
import { HISTORY_DIR, walRoot } from '../storage/layout.js';
import { CorruptWalError } from '../storage/wal-store.js';
import { spooledRestoreCommand } from '../util/wal-commands.js';
import { parseConnectionString } from './conninfo.js';
import { JobFailure, type JobContext, type JobOutcome } from './job-context.js';
import { errorText } from './log.js';
import { parsePlan, RestorePlan, type JobRow, type RestoreResult } from './protocol.js';
import { configuredValue, createLogFile, giveToServerUser, preloads, promotesAfterPause, scrubDataDirectory, writeRecoveryConfig } from './restore-config.js';
import { prepareRestoreDirectory, RESTORE_MARKER } from './restore-directory.js';
import { locateBackup, type BackupSource } from './restore-source.js';
import { fatalLine, RestoredServer } from './restored-server.js';
import { countRestored, findSuperuser, validateRestore } from './restore-validation.js';
import { createSpoolDir, SPOOL_DIR_NAME, startWalPrefetch, type WalPrefetch } from './wal-prefetch.js';
import { flushBehind } from './flush-behind.js';

/** Replay that shows no sign of life (no LSN progress, no log line) for this long is given up. */
const STALL_MS = 10 * 60_000;
// A query on a held connection is cheap; a connection attempt forks a backend.
const POLL_MS = 50;
const CONNECT_RETRY_MS = 100;
// sun_path holds 107 bytes: "<dir>/.s.PGSQL.65535" must fit.
const MAX_SOCKET_DIR = 90;

class Stopped extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pg_verifybackup on the extracted copy: PostgreSQL's verdict on every restored file. */
async function manifestProblems(manifestPath: string, dataDir: string): Promise<string[]> {
  const args = ['--quiet', `--manifest-path=${manifestPath}`, `--ignore=${RESTORE_MARKER}`, `--ignore=${SPOOL_DIR_NAME}`, dataDir];
  try {
    await runCommand(pgTool('pg_verifybackup'), args, { timeoutMs: 6 * 3600_000 });
    return [];
  } catch (e) {
    if (!(e instanceof CommandError) || e.exitCode === null) throw e;
    const lines = e.stderr.split('\n').map((l) => l.replace(/^pg_verifybackup: (error: )?/, '').trim()).filter(Boolean);
    return lines.length ? lines.slice(0, 20) : [e.message];
  }
}

/** Every archive restored has the checksum the backup job recorded for it. */
export function sameArchives(stored: { name: string; sha256: string }[] | null | undefined, restored: Record<string, string>): boolean {
  const names = Object.keys(restored);
  if (!stored || names.length === 0) return false;
  const recorded = new Map(stored.map((f) => [f.name, f.sha256]));
  return names.every((n) => recorded.get(n) === restored[n]);
}

/**
 * <dir>/socket (inside the new 0700 data directory), or null when that path is
 * too long for a Unix socket and a private temporary directory is needed.
 */
export function restoreSocketDir(dataDir: string): { dir: string; temporary: false } | null {
  const inside = join(dataDir, 'socket');
  return inside.length <= MAX_SOCKET_DIR ? { dir: inside, temporary: false } : null;
}

// Parent of the temporary socket directories: the agent's own, 0711 (the
// server's user may pass through but neither list nor create anything).
const SOCKET_PARENT = join(tmpdir(), `bm-restore-sockets-${process.getuid?.() ?? 'u'}`);

/** A directory nobody else chose the name of: mkdtemp inside SOCKET_PARENT, never following a link. */
async function socketDirFor(dataDir: string): Promise<{ dir: string; temporary: boolean }> {
  const inside = restoreSocketDir(dataDir);
  if (inside) return inside;
  await mkdir(SOCKET_PARENT, { mode: 0o711 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const st = await lstat(SOCKET_PARENT);
  const me = process.getuid?.();
  if (!st.isDirectory() || (me !== undefined && st.uid !== me) || (st.mode & 0o022) !== 0) {
    throw new JobFailure(`${SOCKET_PARENT} is not a directory of the agent's user writable only by it: refusing to put a socket there`);
  }
  if ((st.mode & 0o777) !== 0o711) await chmod(SOCKET_PARENT, 0o711);
  return { dir: await mkdtemp(join(SOCKET_PARENT, 'r-')), temporary: true };
}

interface Timer {
  phases: Record<string, number>;
  mark(phase: string): void;
}

/** Seconds spent per phase (a phase entered twice, e.g. a restart on another port, adds up). */
function phaseTimer(): Timer {
  let current: string | undefined;
  let since = performance.now();
  const ms: Record<string, number> = {};
  const phases: Record<string, number> = {};
  return {
    phases,
    mark(phase) {
      const now = performance.now();
      if (current) {
        ms[current] = (ms[current] ?? 0) + now - since;
        phases[current] = Math.round(ms[current]!) / 1000;
      }
      current = phase;
      since = now;
    },
  };
}

/** What the configuring phase decided, for starting (and restarting on another port). */
interface ServerSetup {
  config: Parameters<typeof writeRecoveryConfig>[0];
  logFile: string;
  postgresArgs: string[] | undefined;
  users: string[];
}

/**
 * One restore, phase by phase: runRestore below reads as the list of them.
 * The fields are what a later phase, or the clean-up after a failure, needs
 * from an earlier one.
 */
class RestoreRun {
  readonly claimedAt = performance.now();
  readonly plan: RestorePlan;
  readonly dir: string;
  readonly spoolDir: string;
  readonly timer = phaseTimer();
  /** The local repository WAL is read from (s3wal's wal-fetch/prefetch go off-host for what it lacks). */
  readonly walRepo: string;
  server?: RestoredServer;
  socket?: { dir: string; temporary: boolean };
  source?: BackupSource;
  created = false;
  keep = false;
  prefetch?: WalPrefetch;
  // What the agent found wrong with WAL it read ahead: PostgreSQL only says
  // "could not restore file" (restore_command's exit code), this says why.
  readonly walProblems = new Map<string, string>();

  constructor(
    readonly ctx: JobContext,
    job: JobRow,
  ) {
    this.plan = parsePlan(RestorePlan, job.plan, 'restore');
    this.dir = this.plan.restore_directory;
    this.spoolDir = join(this.dir, SPOOL_DIR_NAME);
    const root = this.plan.base.repository_root;
    this.walRepo = root && !root.startsWith('s3://') ? root : ctx.config.repo;
  }

  /** Progress that also notices a cancellation: job_progress answers false. */
  async phase(name: string, done = 0, total: number | null = null): Promise<void> {
    this.timer.mark(name);
    if (!(await this.ctx.progress.flush(done, total, name)) || this.ctx.lost.aborted) throw new Stopped('lost');
    this.stopIfAsked();
  }

  stopIfAsked(): void {
    if (this.ctx.lost.aborted) throw new Stopped('lost');
    if (this.ctx.shutdown.aborted) throw new Stopped('shutdown');
  }

  /** 1. The restore directory: checked, this restore's own leftovers cleared, created with its marker. */
  async prepareDirectory(): Promise<void> {
    const { ctx, plan, dir } = this;
    await this.phase('preparing');
    const restoreRoot = await ctx.sql.setting('restore.root').catch(() => null);
    const leftover = new RestoredServer({ dataDir: dir, socketDir: dir, logFile: '/dev/null', port: 0 });
    const prepared = await prepareRestoreDirectory({
      dir,
      roots: [ctx.config.restoreRoot, ...(restoreRoot ? [restoreRoot] : [])],
      server: await ctx.sql.serverDirectories(),
      marker: { recovery_bk: plan.recovery_bk, recovery_hk: plan.recovery_hk, job_id: ctx.jobId, agent_id: ctx.agentId, created_at: new Date().toISOString() },
      stopLeftover: () => leftover.stop('immediate').catch(() => {}),
    });
    this.created = true;
    if (prepared.leftoverRemoved) ctx.log('warn', `job ${ctx.jobId}: removed ${dir}, left by an earlier attempt of ${plan.recovery_bk}`);
  }

  /** 2a. The nearest repository holding the base backup (local, else off-host), logged. */
  async locateBase(): Promise<BackupSource> {
    await this.phase('restoring', 0, null);
    const source = await locateBackup(this.plan.base, process.env, this.ctx.config.repo);
    this.source = source;
    const level = source.detail.startsWith('local copy missing') ? 'warn' : 'info';
    this.ctx.log(level, `job ${this.ctx.jobId}: ${this.plan.recovery_bk}: base backup ${this.plan.base.backup_bk} from ${source.repository === 'local' ? 'the local repository' : 'the off-host repository'}: ${source.detail}`);
    return source;
  }

  /** 2b. Reading the WAL replay needs, ahead of it, while the base is extracted. */
  async startReadAhead(): Promise<void> {
    const { ctx, plan } = this;
    await createSpoolDir(this.spoolDir);
    if (!plan.wal?.from_segment || !plan.wal.to_segment) return;
    this.prefetch = startWalPrefetch({
      repo: this.walRepo,
      systemIdentifier: plan.base.system_identifier,
      fromSegment: plan.wal.from_segment,
      toSegment: plan.wal.to_segment,
      spoolDir: this.spoolDir,
      signal: ctx.lost,
      // Not fatal: wal-fetch gets the segment at replay and reports what is wrong with it.
      onError: (name, e) => {
        ctx.log('warn', `job ${ctx.jobId}: reading ${name} ahead failed (wal-fetch will retry it): ${errorText(e)}`);
        this.walProblems.set(name, errorText(e));
        // A damaged stored segment is a gap for the window until it is repaired.
        if (e instanceof CorruptWalError) {
          void ctx.sql
            .reportWalIntegrity(plan.base.system_identifier, name, false, errorText(e))
            .catch((r) => ctx.log('warn', `job ${ctx.jobId}: could not report ${name} damaged: ${errorText(r)}`));
        }
      },
    });
  }

  /** 2c. The base backup into the directory (streamed from the object store when it is off-host). */
  async extractBase(source: BackupSource): Promise<ExtractResult> {
    const flusher = flushBehind(this.dir);
    try {
      return await extractBackup(source.archives, this.dir, {
        signal: this.ctx.lost,
        onProgress: (done, total) => this.ctx.progress.report(done, total, 'restoring'),
      });
    } finally {
      await flusher.stop();
    }
  }

  /**
   * 2d. A verified backup whose archives are byte for byte the ones it stored
   * (SHA-256 taken while extracting) was checked file by file already:
   * pg_verifybackup would read every restored byte again for the same answer.
   */
  async verifyRestored(source: BackupSource, extracted: ExtractResult): Promise<{ problems: string[]; identical: boolean }> {
    this.stopIfAsked();
    await this.phase('verifying restored files');
    const { plan, dir } = this;
    const identical = plan.base.verification_status === 'VERIFIED' && sameArchives(plan.base.stored_files, extracted.sha256);
    const problems = identical ? [] : await manifestProblems(await source.manifestPath(), dir);
    if (problems.length) this.ctx.log('warn', `job ${this.ctx.jobId}: restored files do not match backup_manifest: ${problems.join('; ')}`);
    await scrubDataDirectory(dir);
    // The spool is the server user's already, and its files come and go meanwhile (chown -R would trip over them).
    await giveToServerUser([dir]);
    await giveToServerUser((await readdir(dir)).filter((f) => f !== SPOOL_DIR_NAME).map((f) => join(dir, f)), true);
    return { problems, identical };
  }

  /** 3. Recovery settings; the copy keeps the backup's preload libraries. */
  async configure(): Promise<ServerSetup> {
    await this.phase('configuring');
    const { plan, dir } = this;
    const [preload, externalPidFile, configuredData] = await Promise.all(
      ['shared_preload_libraries', 'external_pid_file', 'data_directory'].map((n) => configuredValue(dir, n).catch(() => '')),
    );
    const pgMajor = Number.parseInt(await readFile(join(dir, 'PG_VERSION'), 'utf8'), 10);
    this.socket = await socketDirFor(dir);
    const logFile = join(dir, 'log', 'backup_mgmt_restore.log');
    const sysid = plan.base.system_identifier;
    const config = {
      dataDir: dir,
      port: await allocatePort(),
      socketDir: this.socket.dir,
      // --config: the server's environment does not name the off-host repository wal-fetch may need.
      restoreCommand: spooledRestoreCommand(this.spoolDir, join(walRoot(this.walRepo, sysid), HISTORY_DIR), this.walRepo, sysid, process.env[CONFIG_ENV] || undefined),
      restoreSettings: plan.restore_settings,
      clusterName: `restore ${plan.recovery_bk}`,
      pgCron: preloads(preload!, 'pg_cron'),
      timescaledb: preloads(preload!, 'timescaledb'),
      externalPidFile: externalPidFile!,
      pgMajor,
    };
    await writeRecoveryConfig(config);
    await createLogFile(logFile);
    // A data_directory in the copied postgresql.conf would point at the source's files.
    const postgresArgs = configuredData === dir || configuredData === '' ? undefined : ['-c', `data_directory=${dir}`];
    const users = [...new Set([parseConnectionString(this.ctx.config.databaseUrl).user ?? process.env.PGUSER ?? 'postgres', 'postgres'])];
    return { config, logFile, postgresArgs, users };
  }

  /** 4. Start and wait for the target (again on another port if one was taken meanwhile). The private socket trusts any role that exists. */
  async startUntilTarget(setup: ServerSetup): Promise<Exclude<TargetOutcome, 'stopped'>> {
    this.prefetch?.unthrottle();
    let port = setup.config.port;
    for (let attempt = 1; ; attempt++) {
      await this.phase('starting');
      const server = new RestoredServer({ dataDir: this.dir, socketDir: this.socket!.dir, logFile: setup.logFile, port, postgresArgs: setup.postgresArgs });
      this.server = server;
      const logOffset = (await server.logText()).length;
      server.start();
      const outcome = await waitForTarget(this.ctx, server, this.plan, this.timer, setup.users);
      if (outcome !== 'stopped') return outcome;
      const log = (await server.logText()).slice(logOffset);
      // Another process took the port between our probe and the server's bind.
      if (/could not bind|Address already in use/i.test(log) && attempt < 5 && !(await server.isRunning())) {
        releasePort(port);
        port = await allocatePort();
        await writeRecoveryConfig({ ...setup.config, port });
        continue;
      }
      const why = fatalLine(log) ?? (server.startFailed ? errorText(server.startFailed).split('\n').slice(-1)[0] : 'the server stopped');
      const found = [...this.walProblems.values()].slice(0, 3);
      throw new JobFailure(`restored cluster did not reach its target: ${why}${found.length ? `; the agent found: ${found.join('; ')}` : ''}`);
    }
  }

  /** Replay is over: nothing more to read ahead. */
  async endReadAhead(): Promise<number> {
    const spooled = this.prefetch?.spooled() ?? 0;
    await this.prefetch?.stop();
    this.prefetch = undefined;
    await rm(this.spoolDir, { recursive: true, force: true });
    return spooled;
  }

  /**
   * 5. Validate. Paused at its target, the copy already holds exactly what
   * it will hold once promoted, so its rows are counted while the promotion
   * runs (PostgreSQL notices a promotion request in a paused recovery only
   * once a second); where recovery stopped is checked on the promoted copy.
   */
  async validate(atTarget: Exclude<TargetOutcome, 'stopped'>, users: string[], verified: { problems: string[]; identical: boolean }) {
    await this.phase('validating');
    const { ctx, plan, timer } = this;
    const server = this.server!;
    const user = await findSuperuser(server, users);
    const promotedAt = performance.now();
    const promotion =
      atTarget === 'paused'
        ? server.promote().then(
            () => (timer.phases['promoting (beside validation)'] = Math.round(performance.now() - promotedAt) / 1000),
            (e: unknown) => {
              throw new JobFailure(`could not promote the restored cluster at its target: ${errorText(e).split('\n').slice(-1)[0]}`);
            },
          )
        : Promise.resolve();
    promotion.catch(() => {});
    const counts = await countRestored(server, user, (done, total) => ctx.progress.report(done, total, 'validating'));
    await promotion;
    return validateRestore({
      server,
      user,
      plan,
      counts,
      manifestProblems: verified.problems,
      manifestDetail: verified.identical
        ? `every restored archive has the SHA-256 recorded when ${plan.base.backup_bk} was stored and verified against backup_manifest`
        : undefined,
    });
  }

  /** 6. A drill leaves nothing behind; a recovery stays up for the operator. */
  async finish(logFile: string, spooled: number, outcome: Awaited<ReturnType<RestoreRun['validate']>>): Promise<JobOutcome> {
    const { ctx, plan, dir, timer } = this;
    const server = this.server!;
    const socket = this.socket!;
    const { reached, validation } = outcome;
    const rto = (performance.now() - this.claimedAt) / 1000;
    // Cancelled while validating: nothing may stay running for a recovery that will read CANCELLED.
    await this.phase('finishing');
    ctx.log('info', `job ${ctx.jobId}: ${plan.recovery_bk} validated ${validation.status} in ${rto.toFixed(1)} s (reached ${reached.lsn}, ${spooled} WAL segments read ahead): ${validation.detail}`);
    this.keep = plan.keep_running && !plan.drill;
    if (!this.keep) {
      await this.phase('removing');
      await server.stop('fast');
      await rm(dir, { recursive: true, force: true });
      if (socket.temporary) await rm(socket.dir, { recursive: true, force: true });
      releasePort(server.port);
    }
    timer.mark('done');
    const source = this.source!;
    const result: RestoreResult = {
      restore_directory: dir,
      restore_port: this.keep ? server.port : null,
      recovery_end_time: new Date().toISOString(),
      recovery_duration_seconds: Math.round(rto * 1000) / 1000,
      reached,
      validation,
      kept_running: this.keep,
      socket_directory: this.keep ? socket.dir : null,
      log_file: logFile,
      phases_seconds: timer.phases,
      wal_segments_read_ahead: spooled,
      repository: { name: source.repository, location: source.location, detail: source.detail },
    };
    return { status: 'succeeded', result };
  }

  /** Whatever went wrong, a half-made restore must not stay: stop it, remove it. The server's log of a failure is kept beside it. */
  async abandon(e: unknown): Promise<JobOutcome> {
    const { ctx, dir, server, socket } = this;
    await this.prefetch?.stop().catch(() => {});
    if (!(e instanceof Stopped) && !(e instanceof JobFailure)) ctx.log('error', `job ${ctx.jobId}: ${errorText(e)}`);
    let keptLog: string | undefined;
    if (this.created && !this.keep) {
      await server?.stop('immediate').catch((s) => ctx.log('warn', `job ${ctx.jobId}: could not stop the restored server: ${errorText(s)}`));
      if (server && !(e instanceof Stopped)) keptLog = await keepServerLog(server.logFile, dir);
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      if (socket?.temporary) await rm(socket.dir, { recursive: true, force: true }).catch(() => {});
    }
    if (server) releasePort(server.port);
    if (e instanceof Stopped) return e.message === 'lost' ? { status: 'lost' } : { status: 'released' };
    if (keptLog && e instanceof JobFailure) throw new JobFailure(`${e.message} (server log kept at ${keptLog})`, e.retryable);
    // JobFailure is final; anything else the runner judges (a lost connection is retried).
    throw e;
  }
}

export async function runRestore(ctx: JobContext, job: JobRow): Promise<JobOutcome> {
  const run = new RestoreRun(ctx, job);
  try {
    await run.prepareDirectory();
    const source = await run.locateBase();
    await run.startReadAhead();
    const extracted = await run.extractBase(source);
    const verified = await run.verifyRestored(source, extracted);
    const setup = await run.configure();
    const atTarget = await run.startUntilTarget(setup);
    const spooled = await run.endReadAhead();
    const outcome = await run.validate(atTarget, setup.users, verified);
    return await run.finish(setup.logFile, spooled, outcome);
  } catch (e) {
    return await run.abandon(e);
  } finally {
    await run.source?.dispose().catch(() => {});
  }
}

/** Copies a failed restore's server log to <dir>.log before the directory goes; undefined when there is none. */
async function keepServerLog(logFile: string, dir: string): Promise<string | undefined> {
  const kept = `${dir}.log`;
  try {
    await copyFile(logFile, kept);
    return kept;
  } catch {
    return undefined;
  }
}

/** promoted: out of recovery; paused: at the target, waiting for the agent to promote it (promotesAfterPause). */
type TargetOutcome = 'promoted' | 'paused' | 'stopped';

/** The first role and database that the restored cluster knows (any will do to ask about recovery). */
async function connectAny(server: RestoredServer, users: string[]) {
  let last: unknown;
  for (const user of users) {
    for (const db of ['postgres', 'template1']) {
      try {
        return await server.connect(user, db, 2_000);
      } catch (e) {
        last = e;
        if (!/does not exist/.test(errorText(e))) throw e;
      }
    }
  }
  throw last;
}

/**
 * Poll until the copy is out of recovery, or paused at its target when the
 * agent promotes it itself. Until the server is consistent it refuses
 * connections; meanwhile the log and pg_ctl tell whether it is alive. Once
 * in, one connection is kept: a new one per poll would fork a backend on the
 * restored server while it replays.
 */
async function waitForTarget(ctx: JobContext, server: RestoredServer, plan: RestorePlan, timer: Timer, users: string[]): Promise<TargetOutcome> {
  const base = parseLsn(plan.base.start_lsn);
  const target = plan.target.lsn ? parseLsn(plan.target.lsn) : undefined;
  let lastSign = Date.now();
  let lastLsn = '';
  let lastLogSize = 0;
  let replaying = false;
  const pauseIsTheEnd = promotesAfterPause(plan.restore_settings);
  let c: Awaited<ReturnType<typeof connectAny>> | undefined;
  try {
    for (;;) {
      if (ctx.lost.aborted) throw new Stopped('lost');
      if (ctx.shutdown.aborted) throw new Stopped('shutdown');
      try {
        c ??= await connectAny(server, users);
        const r = await c.query<{ rec: boolean; lsn: string | null; paused: boolean }>(
          `SELECT pg_catalog.pg_is_in_recovery() AS rec, pg_catalog.pg_last_wal_replay_lsn()::text AS lsn,
                  pg_catalog.pg_is_in_recovery() AND pg_catalog.pg_is_wal_replay_paused() AS paused`,
        );
        const row = r.rows[0]!;
        if (!row.rec) return 'promoted';
        // Nothing else pauses this copy: paused means the target is reached.
        if (row.paused && pauseIsTheEnd) return 'paused';
        if (!replaying) {
          replaying = true;
          timer.mark('replaying');
        }
        if (row.lsn && row.lsn !== lastLsn) {
          lastLsn = row.lsn;
          lastSign = Date.now();
        }
      } catch {
        await c?.end().catch(() => {});
        c = undefined;
        // Not accepting connections yet (or any more): is it still alive?
        if (server.startFailed || !(await server.alive())) {
          // pg_ctl has the last word (the pid file may be between two states).
          await sleep(CONNECT_RETRY_MS);
          if (!(await server.isRunning().catch(() => false))) return 'stopped';
        }
      }
      // Reported every round (the reporter throttles): its answer is how a cancellation arrives.
      if (replaying && lastLsn) ctx.progress.report(Number(parseLsn(lastLsn) - base), target ? Number(target - base) : null, 'replaying');
      else ctx.progress.report(0, null, 'starting');
      const size = await server.logSize();
      if (size !== lastLogSize) {
        lastLogSize = size;
        lastSign = Date.now();
      }
      if (Date.now() - lastSign > STALL_MS) {
        throw new JobFailure(`recovery made no progress for ${STALL_MS / 1000} s (last replayed ${lastLsn || 'nothing'}): ${fatalLine(await server.logText()) ?? 'see the restored cluster log'}`);
      }
      await sleep(c ? POLL_MS : CONNECT_RETRY_MS);
    }
  } finally {
    await c?.end().catch(() => {});
  }
}
