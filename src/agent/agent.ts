// The agent's life: register, then heartbeat, listen, claim and run one job
// at a time, register archived WAL; on shutdown stop claiming, let the job
// finish or release it, say goodbye to the catalog.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism, hostname } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { packageRoot } from '../util/paths.js';
import type { AgentConfig } from './config.js';
import { isLocalHost, PINNED_OPTIONS } from './conninfo.js';
import { JobListener } from './listener.js';
import { agentOffsite, offsiteInfo } from './offsite.js';
import { runJob, SUPPORTED_JOB_TYPES } from './job-runner.js';
import { errorText, stderrLogger, type Logger } from './log.js';
import { sweep } from './janitor.js';
import { checkStoredBackups } from './presence-check.js';
import { prepareRepository } from './repository.js';
import { AgentSql, type ServerFacts } from './sql.js';
import { toolVersions } from './tool-versions.js';
import { WalRegistry } from './wal-registry.js';
import { RepositoryMirror } from './repository-mirror.js';
import { catalogSync } from '../dr/catalog-sync.js';
import { WalStreamer } from './wal-stream.js';
import { openOffsite, type OffsiteConfig } from '../storage/offsite/index.js';
import { BackendMetadataFiles, MetadataStore } from '../storage/repo-metadata.js';
import { CopySql } from './copy-sql.js';
import { Replicator } from './replicator.js';

export interface AgentIntervals {
  heartbeatMs: number;
  pollMs: number;
  walScanMs: number;
}

/** The presence check of stored backups runs with every n-th WAL scan. */
const PRESENCE_EVERY_SCANS = 6;

export const DEFAULT_INTERVALS: AgentIntervals = { heartbeatMs: 5_000, pollMs: 2_000, walScanMs: 10_000 };

export interface AgentOptions {
  config: AgentConfig;
  log?: Logger;
  intervals?: Partial<AgentIntervals>;
}

function packageVersion(): string {
  try {
    return String(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

/** Errors that mean "the pack is not installed here", said plainly. */
function explainStartupError(e: unknown): Error {
  const code = (e as { code?: string }).code;
  if (code === '42883' || code === '3F000') {
    return new Error(`backup_mgmt is not installed in this database (run: backup-mgmt migrate up): ${errorText(e)}`);
  }
  if (code === '42501') return new Error(`the agent's database role lacks backup_agent privileges: ${errorText(e)}`);
  if (code === '55006') {
    const err = e as { message: string; detail?: string };
    const since = (err.detail ?? '').replace(/^pid=\S+ host=\S+; /, '').replace(/\.$/, '');
    return new Error(`${err.message.replace(/^agent_register: /, '')}${since ? ` (${since})` : ''}: start this one with another --agent-id, or stop that one`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** The live holder agent_register named when it refused an id (DETAIL "pid=N host=H; …"). */
function idHolder(e: unknown): { pid: number; host: string } | undefined {
  const err = e as { code?: string; detail?: string };
  if (err.code !== '55006') return undefined;
  const m = /^pid=(\d+) host=([A-Za-z0-9._-]+);/.exec(err.detail ?? '');
  return m ? { pid: Number(m[1]), host: m[2]! } : undefined;
}

/** Signal 0 probes a pid; EPERM means it runs under another user. */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Agent {
  readonly agentId: string;
  private readonly log: Logger;
  private readonly intervals: AgentIntervals;
  private readonly shutdownController = new AbortController();
  private readonly pool: pg.Pool;
  private readonly sql: AgentSql;
  private listener: JobListener | undefined;
  private timers: NodeJS.Timeout[] = [];
  private wake: (() => void) | undefined;
  private woken = false;
  private walScan: Promise<number> | undefined;
  private schedulesRunning = false;
  private housekeeping: Promise<void> | undefined;
  private registry: WalRegistry | undefined;
  private mirror: RepositoryMirror | undefined;
  private heartbeating = false;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private repositoryRoot = '';
  private registration: Parameters<AgentSql['register']>[0] | undefined;
  private streamer: WalStreamer | undefined;
  private streamCheck: Promise<void> | undefined;
  private offsite: OffsiteConfig | undefined;
  private replicator: Replicator | undefined;
  facts: ServerFacts | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.agentId = opts.config.agentId;
    this.log = opts.log ?? stderrLogger;
    this.intervals = { ...DEFAULT_INTERVALS, walScanMs: opts.config.walScanSeconds * 1000, ...opts.intervals };
    // Idle connections stay open: a job's first statements (progress, the WAL
    // slot) would otherwise wait for a new connection after every quiet spell.
    // synchronous_commit = local: with the WAL receiver in
    // synchronous_standby_names, the agent's own catalog writes must not wait
    // for the receiver it may be restarting.
    this.pool = new pg.Pool({
      connectionString: opts.config.databaseUrl,
      max: 3,
      idleTimeoutMillis: 0,
      application_name: 'backup-mgmt agent',
      options: `${PINNED_OPTIONS} -c synchronous_commit=local`,
    });
    // An idle pooled connection that dies must not take the agent down.
    this.pool.on('error', (e) => this.log('warn', `database connection lost: ${e.message}`));
    this.sql = new AgentSql(this.pool);
  }

  get repository(): string {
    return this.repositoryRoot;
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    try {
      // A wrong off-host configuration stops the start: backups must not silently stay on this host only.
      this.offsite = agentOffsite();
      this.repositoryRoot = await prepareRepository(config.repo);
      this.facts = await this.sql.serverFacts();
      const local = isLocalHost(config.databaseUrl);
      const cores = availableParallelism();
      this.registration = {
        agentId: this.agentId,
        hostname: hostname(),
        pid: process.pid,
        repositoryRoot: this.repositoryRoot,
        restoreRoot: config.restoreRoot,
        info: {
          version: packageVersion(),
          pid: process.pid,
          node: process.version,
          tools: await toolVersions(),
          // The server's cores drive zstd workers; only known when it runs on this host.
          cpu_count: local ? cores : null,
          agent_cpu_count: cores,
          server_is_local: local,
          system_identifier: this.facts.systemIdentifier,
          server_version: this.facts.pgVersion,
          max_rate: config.maxRate ?? null,
          job_types: SUPPORTED_JOB_TYPES,
          // Where storage type S3 sends backups (SQL cannot read our environment); never credentials.
          offsite: offsiteInfo(agentOffsite()),
        },
      };
      await this.registerOnce(this.registration);
    } catch (e) {
      await this.pool.end().catch(() => {});
      throw explainStartupError(e);
    }
    this.log('info', `agent ${this.agentId} registered (pid ${process.pid}, repository ${this.repositoryRoot}, system ${this.facts.systemIdentifier})`);

    this.listener = new JobListener(config.databaseUrl, this.log, () => this.notify());
    await this.listener.start();
    this.timers.push(setInterval(() => void this.heartbeat(), this.intervals.heartbeatMs));
    // Schedules whose pg_cron job is absent (no pg_cron, or it lives in another
    // database) are driven from here; run_due_schedules() skips locked and
    // not-yet-due schedules, so pg_cron and several agents never double-run a slot.
    this.timers.push(setInterval(() => void this.runDueSchedules(), this.intervals.heartbeatMs));
    this.registry = new WalRegistry(this.sql, this.repositoryRoot, this.facts.systemIdentifier, this.facts.walSegmentSize, this.log);
    await this.syncRepository();
    await this.startReplicator();
    // A periodic scan is skipped while one runs; a job's request queues behind it.
    let scans = 0;
    const periodic = () => {
      if (!this.walScan) this.scanWal().catch((e) => this.log('warn', `WAL registry scan failed: ${errorText(e)}`));
      // Every sixth WAL scan (a minute by default): stored backups still there? leftovers to remove?
      if (scans++ % PRESENCE_EVERY_SCANS === 0 && !this.housekeeping) {
        this.housekeeping = this.checkPresence().finally(() => (this.housekeeping = undefined));
      }
      void this.mirror?.mirror(undefined);
    };
    periodic();
    this.timers.push(setInterval(periodic, this.intervals.walScanMs));
    // WAL streaming follows the setting wal.streaming, looked at with the heartbeat.
    const streaming = () => {
      this.streamCheck ??= this.followStreamingSetting().finally(() => (this.streamCheck = undefined));
    };
    streaming();
    this.timers.push(setInterval(streaming, this.intervals.heartbeatMs));
    this.loop = this.claimLoop();
  }

  /**
   * agent_register refuses an id held by a live process (55006). When that
   * holder was on this host and its pid is gone (an agent killed a moment
   * ago), its id is taken over; anyone else keeps it and this agent stops.
   */
  private async registerOnce(reg: Parameters<AgentSql['register']>[0]): Promise<void> {
    try {
      await this.sql.register(reg);
      return;
    } catch (e) {
      const holder = idHolder(e);
      if (!holder || holder.host !== reg.hostname || processAlive(holder.pid)) throw e;
      this.log('info', `agent id ${reg.agentId} was held by pid ${holder.pid}, which is no longer running here; taking it over`);
      await this.sql.takeOver(reg.agentId, holder.host, holder.pid);
    }
    await this.sql.register(reg);
  }

  /**
   * Repository and catalog in step (disaster recovery): first what the
   * repository knows and the catalog lacks (a catalog restored to an earlier
   * time), then every catalog change not yet in the repository's metadata
   * (a crash between the two). Neither stops the agent from starting.
   */
  private async syncRepository(): Promise<void> {
    this.mirror = new RepositoryMirror(this.pool, this.repositoryRoot, this.facts!.systemIdentifier, (this.registration?.info.tools ?? {}) as Record<string, string | null>, this.log);
    try {
      const s = await catalogSync(this.pool, this.repositoryRoot, { registerWal: false });
      const n = s.backups_imported + s.backups_updated + s.restore_points_imported + s.backups_missing + s.recoveries_recorded;
      if (n > 0) this.log('info', `catalog sync from the repository: ${JSON.stringify(s)}`);
    } catch (e) {
      this.log('warn', `catalog sync from the repository failed: ${errorText(e)}`);
    }
    await this.mirror.mirror(null);
  }

  /** With an off-host repository: copy backups and WAL there (repository copies, sql/65-copies). */
  private async startReplicator(): Promise<void> {
    if (!this.offsite || !this.mirror) return;
    const store = await openOffsite(this.offsite);
    this.replicator = new Replicator({
      sql: new CopySql(this.pool, this.agentId),
      store,
      metadata: new MetadataStore(new BackendMetadataFiles(store.location.replace(/\/+$/, ''), store.backend)),
      mirror: this.mirror,
      repositoryRoot: this.repositoryRoot,
      systemIdentifier: this.facts!.systemIdentifier,
      log: this.log,
      intervalMs: this.intervals.walScanMs,
    });
    this.replicator.start();
    this.log('info', `off-host repository ${store.location}: backups and WAL are copied there, encrypted to ${this.offsite.encryption.fingerprints.join(', ')}`);
  }

  /** Start or stop the WAL receiver as wal.streaming says; drop the slot once off. */
  private async followStreamingSetting(): Promise<void> {
    if (this.shutdownController.signal.aborted || !this.facts) return;
    try {
      const on = (await this.sql.setting('wal.streaming')) === 'on';
      // A stop that came during the query: no receiver to start on the way out.
      if (this.shutdownController.signal.aborted) return;
      if (on && !this.streamer) {
        const { config } = this.opts;
        this.streamer = new WalStreamer({
          databaseUrl: config.databaseUrl,
          repo: this.repositoryRoot,
          spoolDir: config.streamSpool,
          systemIdentifier: this.facts.systemIdentifier,
          segSize: this.facts.walSegmentSize,
          sql: this.sql,
          log: this.log,
          partialEveryMs: config.streamPartialSeconds * 1000,
        });
        this.streamer.start();
        this.log('info', `WAL streaming on: spool ${config.streamSpool}`);
      } else if (!on && this.streamer) {
        await this.streamer.stop();
        this.streamer = undefined;
        this.log('info', 'WAL streaming off: receiver stopped');
      }
      if (!on && (await this.sql.streamSlotDrop())) this.log('info', 'dropped the WAL streaming slot');
    } catch (e) {
      this.log('warn', `WAL streaming: ${errorText(e)}`);
    }
  }

  /** The running WAL receiver's pid (tests kill it). */
  get receiverPid(): number | undefined {
    return this.streamer?.pid;
  }

  /** Resolves once the agent has stopped (after stop(), or if the loop dies). */
  get finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /**
   * One registry scan at a time: a caller arriving while one runs gets a fresh
   * scan after it (the running one may have listed the repository too early).
   */
  scanWal(): Promise<number> {
    const registry = this.registry;
    if (!registry) return Promise.resolve(0);
    const previous = this.walScan ?? Promise.resolve(0);
    const next = previous
      .catch(() => 0)
      .then(() => registry.scan())
      .then((n) => {
        if (n > 0) this.log('info', `registered ${n} archived WAL file(s)`);
        return n;
      })
      .finally(() => {
        if (this.walScan === next) this.walScan = undefined;
      });
    this.walScan = next;
    return next;
  }

  /** The slow housekeeping: stored backups still there, leftovers of finished work removed. */
  private async checkPresence(): Promise<void> {
    if (!this.facts) return;
    try {
      await checkStoredBackups(this.sql, this.repositoryRoot, this.log);
    } catch (e) {
      this.log('warn', `presence check of stored backups failed: ${errorText(e)}`);
    }
    try {
      const restoreRoot = await this.sql.setting('restore.root').catch(() => null);
      await sweep({
        sql: this.sql,
        agentId: this.agentId,
        repositoryRoot: this.repositoryRoot,
        systemIdentifier: this.facts.systemIdentifier,
        restoreRoots: [this.opts.config.restoreRoot, ...(restoreRoot ? [restoreRoot] : [])],
        log: this.log,
      });
    } catch (e) {
      this.log('warn', `janitor failed: ${errorText(e)}`);
    }
  }

  private notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async heartbeat(): Promise<void> {
    // A slow catalog must not pile heartbeats up behind each other.
    if (this.heartbeating) return;
    this.heartbeating = true;
    try {
      await this.sql.heartbeat(this.agentId);
    } catch (e) {
      this.log('warn', `heartbeat failed: ${errorText(e)}`);
      // 55000: the catalog forgot us (e.g. the pack was reinstalled); introduce ourselves again.
      if ((e as { code?: string }).code === '55000' && this.registration) {
        await this.sql.register(this.registration).catch((r) => this.log('warn', `re-registration failed: ${errorText(r)}`));
      }
    } finally {
      this.heartbeating = false;
    }
  }

  private async runDueSchedules(): Promise<void> {
    if (this.schedulesRunning) return;
    this.schedulesRunning = true;
    try {
      const r = await this.pool.query<{ n: number }>('SELECT backup_mgmt.run_due_schedules() AS n');
      if ((r.rows[0]?.n ?? 0) > 0) this.log('info', `ran ${r.rows[0]!.n} due schedule(s)`);
    } catch (e) {
      this.log('warn', `run_due_schedules failed: ${errorText(e)}`);
    } finally {
      this.schedulesRunning = false;
    }
  }

  private waitForWork(): Promise<void> {
    const signal = this.shutdownController.signal;
    if (this.woken || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, this.intervals.pollMs);
      signal.addEventListener('abort', finish);
      this.wake = finish;
    });
  }

  /** Waits ms, or less when the agent is asked to stop. */
  private async backOff(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.shutdownController.signal }).catch(() => {});
  }

  private async claimLoop(): Promise<void> {
    const shutdown = this.shutdownController.signal;
    const deps = { sql: this.sql, config: this.opts.config, agentId: this.agentId, log: this.log, shutdown, scanWal: () => this.scanWal() };
    let failures = 0;
    while (!shutdown.aborted) {
      this.woken = false;
      let job;
      try {
        job = await this.sql.claim(this.agentId, SUPPORTED_JOB_TYPES);
        failures = 0;
      } catch (e) {
        // The server may be restarting: back off (1 s, 2 s, … 30 s) instead of hammering it;
        // the pool opens fresh connections once it answers again.
        failures++;
        this.log('warn', `claim_job failed: ${errorText(e)}`);
        await this.backOff(Math.min(30_000, 1_000 * 2 ** (failures - 1)));
        continue;
      }
      if (job) {
        await runJob(deps, job);
        // The repository's metadata follows what the job changed.
        if (job.job_type !== 'RESTORE') void this.mirror?.mirror(job.job_type === 'DELETE' ? null : typeof job.plan.backup_bk === 'string' ? job.plan.backup_bk : null);
        // A backup to copy, or an expired one to delete off-host; the off-host metadata follows the catalog.
        if (job.job_type === 'BACKUP' || job.job_type === 'DELETE') {
          this.replicator?.wake();
          this.replicator?.refreshMetadata(job.job_type === 'BACKUP' && typeof job.plan.backup_bk === 'string' ? job.plan.backup_bk : null);
        }
        // A VERIFY plan names the backup by its directory, whose last part is its key.
        if (job.job_type === 'VERIFY') this.replicator?.refreshMetadata(typeof job.plan.repository_path === 'string' ? basename(job.plan.repository_path) : null);
      } else await this.waitForWork();
    }
  }

  /** Stop claiming, finish or release the running job, deregister. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log('info', `agent ${this.agentId} stopping`);
    this.shutdownController.abort();
    await this.loop;
    for (const t of this.timers) clearInterval(t);
    await this.streamCheck;
    await this.streamer?.stop();
    await this.listener?.stop();
    await this.walScan?.catch(() => {});
    await this.housekeeping;
    await this.replicator?.stop();
    await this.mirror?.mirror(undefined);
    try {
      await this.sql.stopped(this.agentId);
    } catch (e) {
      this.log('warn', `agent_stopped failed: ${errorText(e)}`);
    }
    await this.pool.end().catch(() => {});
    this.log('info', `agent ${this.agentId} stopped`);
  }
}
