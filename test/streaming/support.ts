// What the streaming tests share: a cluster archiving through the real
// wal-push (registering on push), the real agent streaming WAL with
// pg_receivewal when asked, a marker client that records every acknowledged
// commit, a source killed without warning, and a restore from the
// repository alone with the real wal-fetch as restore_command.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { TestCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { isRoot, pgTool, runAsPostgres, runCommand } from '../../src/util/process.js';
import { archiveCommand, restoreCommand } from '../../src/util/wal-commands.js';
import { AgentProcess, ensureBuilt, freePort, postgresDir, query, removeDir, startRestored, waitFor } from '../e2e/support.js';

export const SLOT = 'backup_mgmt_stream';

export interface StreamingSetup {
  url: string;
  repo: string;
  spool: string;
  restoreRoot: string;
  sysid: string;
  agent: AgentProcess;
  agentArgs: string[];
}

export interface StreamingOptions {
  streaming: boolean;
  synchronous?: boolean;
  /** The agent's periodic registry scan; long = only register-on-push can make WAL known quickly. */
  walScanSeconds?: number;
  /** More agent arguments (e.g. --config). */
  agentArgs?: string[];
}

/** Pack installed, archive_command = wal-push --catalog, archive_timeout off, the agent running. */
export async function streamingCluster(cluster: TestCluster, db: string, agentId: string, opts: StreamingOptions): Promise<StreamingSetup> {
  await ensureBuilt();
  const url = await installedDatabase(cluster, db);
  const repo = await postgresDir(join(cluster.baseDir, 'repo'));
  const spool = await postgresDir(join(cluster.baseDir, 'spool'), 0o700);
  const restoreRoot = await postgresDir(join(cluster.baseDir, 'restores'), 0o755);
  await cluster.appendConf({
    archive_mode: 'on',
    archive_command: archiveCommand(repo, url),
    archive_timeout: 0,
  });
  await cluster.restart();
  const [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  if (opts.streaming) {
    await query(url, `SELECT backup_mgmt.set_setting('wal.streaming', 'on')`);
    if (opts.synchronous) await query(url, `SELECT backup_mgmt.set_setting('wal.streaming_synchronous', 'on')`);
  }
  const agentArgs = ['--wal-scan-seconds', String(opts.walScanSeconds ?? 1), '--restore-root', restoreRoot, '--stream-spool', spool, '--stream-partial-seconds', '2', ...(opts.agentArgs ?? [])];
  const agent = await startAgent(cluster, url, repo, agentId, agentArgs);
  if (opts.synchronous) {
    // Only once the receiver runs: from now on every commit waits for it.
    await waitStreaming(url);
    await cluster.appendConf({ synchronous_standby_names: SLOT });
    await query(url, 'SELECT pg_reload_conf()');
    await waitFor('the receiver to be synchronous', async () => (await receiver(url))?.sync_state === 'sync', 30_000);
  }
  return { url, repo, spool, restoreRoot, sysid, agent, agentArgs };
}

export function startAgent(cluster: TestCluster, url: string, repo: string, agentId: string, args: string[]): Promise<AgentProcess> {
  return AgentProcess.start({ databaseUrl: url, repo, agentId, logFile: join(cluster.baseDir, 'agent.log'), extraArgs: args });
}

/** The receiver as the server sees it (state, sync_state, flush position). */
export async function receiver(url: string): Promise<{ pid: number; state: string; sync_state: string; flush_lsn: string } | undefined> {
  const [r] = await query<{ pid: number; state: string; sync_state: string; flush_lsn: string }>(
    url,
    `SELECT pid, state, sync_state, flush_lsn::text FROM pg_stat_replication WHERE application_name = $1`,
    [SLOT],
  );
  return r;
}

export function waitStreaming(url: string, timeoutMs = 60_000) {
  return waitFor('the WAL receiver to stream', async () => {
    const r = await receiver(url);
    return r?.state === 'streaming' ? r : undefined;
  }, timeoutMs);
}

/** Child processes of `pid` (from /proc), with their command names. */
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(d), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The agent's pg_receivewal (setpriv execs it, so it is the agent's direct child). */
export function receiverPid(agent: AgentProcess): number | undefined {
  return childrenOf(agent.pid).find((c) => c.comm === 'pg_receivewal')?.pid;
}

/** SIGKILL the postmaster and every server process of this cluster, then delete its data directory. */
export async function destroySource(cluster: TestCluster): Promise<void> {
  const postmaster = Number(readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const kids = childrenOf(postmaster);
  process.kill(postmaster, 'SIGKILL');
  for (const k of kids) {
    try {
      process.kill(k.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor('the source server to be gone', async () => !existsSync(`/proc/${postmaster}`), 30_000, 50);
  await removeDir(cluster.dataDir);
}

// ---------------------------------------------------------------- markers

export interface Ack {
  id: number;
  /** Epoch ms when COMMIT returned. */
  at: number;
}

/** One connection committing one marker row per transaction, recording each acknowledged commit, until it fails. */
export class MarkerClient {
  readonly acks: Ack[] = [];
  attempted = 0;
  private done: Promise<void> | undefined;
  private stopRequested = false;
  error: unknown;

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    c.on('error', () => {});
    await c.connect();
    await c.query('CREATE TABLE IF NOT EXISTS marker (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    this.done = (async () => {
      try {
        for (let id = 1; !this.stopRequested; id++) {
          this.attempted = id;
          await c.query('INSERT INTO marker (id) VALUES ($1)', [id]);
          this.acks.push({ id, at: Date.now() });
        }
      } catch (e) {
        this.error = e;
      } finally {
        await c.end().catch(() => {});
      }
    })();
  }

  /** Resolves when the client stopped (asked to, or its server died). */
  async finished(stop = false): Promise<void> {
    if (stop) this.stopRequested = true;
    await this.done;
  }
}

// ---------------------------------------------------------------- restore from the repository

export interface RepoRestore {
  dataDir: string;
  port: number;
  url: (db?: string) => string;
  log: string;
  stop: () => Promise<void>;
}

/**
 * What `restore --repo` will do, by hand: the base backup's tar from the
 * repository, restore_command = the real wal-fetch on the repository,
 * recovery.signal without a target: replay everything stored (the `.partial`
 * of the stream last), then promote.
 */
export async function restoreFromRepository(backupDir: string, repo: string, sysid: string, dataDir: string): Promise<RepoRestore> {
  await mkdir(dataDir, { recursive: true });
  const tar = join(backupDir, 'base.tar.zst');
  await runCommand('bash', ['-c', 'set -eo pipefail; zstd -q -dc -- "$1" | tar -x -C "$2"', 'bash', tar, dataDir], { timeoutMs: 120_000 });
  if (isRoot()) await runCommand('chown', ['-R', 'postgres:postgres', dataDir]);
  await chmod(dataDir, 0o700);
  const socketDir = await postgresDir(`${dataDir}-sock`, 0o700);
  const port = await freePort();
  await writeFile(join(dataDir, 'recovery.signal'), '');
  if (isRoot()) await runCommand('chown', ['postgres:postgres', join(dataDir, 'recovery.signal')]);
  const log = `${dataDir}.log`;
  // Left recovery: promoted.
  const url = await startRestored(dataDir, log, {
    port,
    socketDir,
    why: 'restored from the repository by a test',
    settings: `synchronous_standby_names = ''\nrestore_command = '${restoreCommand(repo, sysid).replace(/'/g, "''")}'\n`,
    startSeconds: 120,
    recoveryMs: 180_000,
  });
  return {
    dataDir,
    port,
    url,
    log,
    stop: async () => {
      await runAsPostgres(pgTool('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 }).catch(() => {});
      await removeDir(dataDir);
      await removeDir(socketDir);
    },
  };
}

/** The stored path of a completed backup (read from the catalog while it lives). */
export async function backupDirectory(url: string, backupHk: Buffer): Promise<string> {
  const [r] = await query<{ root: string; path: string }>(
    url,
    'SELECT repository_root AS root, repository_path AS path FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1',
    [backupHk],
  );
  return r!.path.startsWith('/') ? r!.path : join(r!.root, r!.path);
}

export async function fullBackup(url: string): Promise<Buffer> {
  const [q] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  const [b] = await query<{ backup_status: string; verification_status: string }>(url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
  if (b!.backup_status !== 'COMPLETED' || b!.verification_status !== 'VERIFIED') throw new Error(`backup ended ${b!.backup_status}/${b!.verification_status}`);
  return q!.backup_id;
}

/** pgbench against `db` for `seconds` (tpcb-like, 2 clients); resolves with its output even when the server dies. */
export function pgbench(url: string, db: string, seconds: number): Promise<string> {
  const u = new URL(url);
  const args = ['-n', '-c', '2', '-j', '1', '-T', String(seconds), '-h', u.hostname, '-p', u.port, '-U', 'postgres', db];
  return runCommand(pgTool('pgbench'), args, { timeoutMs: (seconds + 120) * 1000 }).then(
    (r) => r.stdout,
    (e: Error) => e.message,
  );
}

export async function pgbenchInit(url: string, db: string): Promise<void> {
  await query(url, `CREATE DATABASE ${db}`);
  const u = new URL(url);
  await runCommand(pgTool('pgbench'), ['-i', '-s', '1', '-q', '-h', u.hostname, '-p', u.port, '-U', 'postgres', db], { timeoutMs: 120_000 });
}
