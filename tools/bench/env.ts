// What every benchmark section stands on: progress output, timing of child
// processes (as the postgres OS user when we are root, without runuser in the
// timed path), throwaway clusters with the pack installed and WAL archived by
// the real CLI, and the agent as a child process. Everything started here is
// remembered and stopped by pid or pg_ctl on our own directories.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createCluster, serverEnvironment, type Settings, type TestCluster } from '../local-cluster.js';
import { cliEntry } from '../../src/util/paths.js';
import { isRoot, pgTool, runCommand } from '../../src/util/process.js';

const started = Date.now();
let quiet = false;

export function setQuiet(q: boolean): void {
  quiet = q;
}

/** A progress line on stderr (the report goes to stdout). */
export function log(msg: string): void {
  if (quiet) return;
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`[bench ${t}s] ${msg}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------- cleanup

type AsyncCleanup = { what: string; fn: () => Promise<void> };
const cleanups: AsyncCleanup[] = [];
const children = new Set<ChildProcess>();
const restoredDirs = new Set<string>();

/** Registers an async cleanup step; steps run last-in first-out. Returns an unregister function. */
export function onCleanup(what: string, fn: () => Promise<void>): () => void {
  const entry = { what, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      await c.fn();
    } catch (e) {
      process.stderr.write(`[bench] cleanup of ${c.what} failed: ${(e as Error).message}\n`);
    }
  }
}

/** SIGQUIT the postmaster of a data directory we created, if its pid file is ours and alive. */
function quitPostmasterSync(dataDir: string): void {
  try {
    const [pidLine, dirLine] = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(pidLine);
    if (!Number.isInteger(pid) || pid <= 0 || dirLine !== dataDir) return;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return;
    process.kill(pid, 'SIGQUIT');
  } catch {
    // Not running.
  }
}

let exitHook = false;
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  // Last resort when the process ends without running the cleanups.
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of restoredDirs) quitPostmasterSync(d);
  });
}

export function trackChild(child: ChildProcess): ChildProcess {
  installExitHook();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// ---------------------------------------------------------------- postgres OS user

let ids: { uid: number; gid: number } | undefined;
export function postgresIds(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  if (ids) return ids;
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) throw new Error('running as root but there is no "postgres" OS user');
  ids = { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  return ids;
}

/** mkdir -p owned by the postgres OS user (when we are root). */
export async function mkdirForPostgres(dir: string, mode = 0o750): Promise<string> {
  await mkdir(dir, { recursive: true, mode });
  const id = postgresIds();
  if (id) await chown(dir, id.uid, id.gid);
  return dir;
}

export async function chownTreeToPostgres(dir: string): Promise<void> {
  if (!postgresIds()) return;
  await runCommand('chown', ['-R', 'postgres:postgres', dir]);
}

export interface TimedRun {
  ms: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOpts {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** What `env` is laid over (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Run as the postgres OS user (uid/gid switch in spawn: no runuser in the timed path). */
  asPostgres?: boolean;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  allowFailure?: boolean;
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs a command to completion and returns its wall time in milliseconds. */
export function timed(cmd: string, args: readonly string[], opts: SpawnOpts = {}): Promise<TimedRun & { code: number | null }> {
  const id = opts.asPostgres ? postgresIds() : undefined;
  const env = { ...(opts.baseEnv ?? process.env), ...(id ? { HOME: '/var/lib/postgresql', USER: 'postgres', LOGNAME: 'postgres' } : {}), ...opts.env };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = trackChild(spawn(cmd, args, { cwd: opts.cwd ?? (id ? '/' : undefined), env, uid: id?.uid, gid: id?.gid, stdio: ['ignore', 'pipe', 'pipe'] }));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => reject(e));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const ms = performance.now() - t0;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0 && !opts.allowFailure) {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(new ToolError(`${[cmd, ...args].join(' ')}: ${why}\n${(stderr || stdout).trim().slice(-2000)}`, code, stderr));
        return;
      }
      resolve({ ms, stdout, stderr, code });
    });
  });
}

/** The real CLI (compiled), as an operator would run it. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv, opts: SpawnOpts = {}): Promise<TimedRun & { code: number | null }> {
  return timed(process.execPath, [cliEntry(), ...args], { ...opts, baseEnv: env, env: opts.env });
}

export function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : Number.NaN;
}

/** Bytes of every regular file under dir (following nothing). */
export function treeBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

// ---------------------------------------------------------------- clusters

export interface BenchCluster {
  name: string;
  pg: TestCluster;
  /** The database holding the pack (backup_mgmt schema). */
  catalogDb: string;
  /** The database holding the data set. */
  dataDb: string;
  repo: string;
  restoreRoot: string;
  /** Catalog connection, kept open; it LISTENs for finished jobs. */
  catalog: pg.Client;
  /** Finished jobs seen on backup_mgmt_job_finished, by subject hash key (hex). */
  finished: Map<string, FinishedJob>;
  env: NodeJS.ProcessEnv;
  agent?: AgentProcess;
  systemIdentifier: string;
}

export const BENCH_SETTINGS: Settings = {
  shared_buffers: '256MB',
  max_wal_size: '8GB',
  min_wal_size: '1GB',
  checkpoint_timeout: '30min',
  max_connections: 60,
  // The pack's catalog writes are tiny; the benchmark measures the byte movers.
  log_checkpoints: 'on',
  log_min_messages: 'warning',
};

export interface FinishedJob {
  jobType: string;
  status: string;
  /** When the notification arrived (nowMs clock). */
  atMs: number;
}

const jobEvents = new EventEmitter();
jobEvents.setMaxListeners(0);

/** Until a job-finished notification arrives or `ms` pass. */
function nextJobEvent(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      jobEvents.off('finished', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    jobEvents.on('finished', done);
  });
}

/**
 * The catalog connection of a bench cluster: it LISTENs for finished jobs
 * and remembers when each arrived, so a measurement ends when the outcome is
 * committed, without polling the catalog meanwhile (that load slowed backups).
 */
async function connectCatalog(cluster: TestCluster, db: string, finished: Map<string, FinishedJob>): Promise<pg.Client> {
  const client = await connectClient(cluster, db);
  client.on('notification', (n) => {
    if (n.channel !== 'backup_mgmt_job_finished' || !n.payload) return;
    const p = JSON.parse(n.payload) as { job_type: string; status: string; subject_hk: string };
    finished.set(p.subject_hk, { jobType: p.job_type, status: p.status, atMs: nowMs() });
    jobEvents.emit('finished');
  });
  await client.query('LISTEN backup_mgmt_job_finished');
  return client;
}

export async function connectClient(cluster: TestCluster, db: string, applicationName = 'backup-mgmt bench'): Promise<pg.Client> {
  const client = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: db, application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * A throwaway cluster (no pg_cron), a data database, the pack migrated into
 * the `postgres` database by the real CLI, and a repository owned by the
 * server's OS user. Archiving is configured separately (after loading data).
 */
export async function createBenchCluster(name: string, settings: Settings = {}): Promise<BenchCluster> {
  const pgc = await createCluster({ name: `bench-${name}`, pgCron: false, settings: { ...BENCH_SETTINGS, ...settings } });
  onCleanup(`cluster ${pgc.name}`, () => pgc.destroy());
  const catalogDb = 'postgres';
  const dataDb = 'bench';
  await pgc.createDatabase(dataDb);
  // The agent and the CLI run as services would (systemd): without the caller's Node.js settings.
  const env = { ...serverEnvironment(), DATABASE_URL: pgc.connectionString(catalogDb) };
  await cli(['migrate', 'up'], env);
  const repo = await mkdirForPostgres(join(pgc.baseDir, 'repo'));
  const restoreRoot = await mkdirForPostgres(join(pgc.baseDir, 'restores'));
  // Before the cluster goes: any server the agent restored and left running.
  onCleanup(`restores of ${pgc.name}`, async () => {
    if (!existsSync(restoreRoot)) return;
    for (const e of readdirSync(restoreRoot, { withFileTypes: true })) {
      if (e.isDirectory() && existsSync(join(restoreRoot, e.name, 'postmaster.pid'))) await stopRestored(join(restoreRoot, e.name));
    }
  });
  const finished = new Map<string, FinishedJob>();
  const catalog = await connectCatalog(pgc, catalogDb, finished);
  onCleanup(`catalog connection of ${pgc.name}`, () => catalog.end());
  const [{ sysid }] = (await catalog.query<{ sysid: string }>('SELECT system_identifier::text AS sysid FROM pg_control_system()')).rows as [{ sysid: string }];
  return { name, pg: pgc, catalogDb, dataDb, repo, restoreRoot, catalog, finished, env, systemIdentifier: sysid };
}

/** `backup-mgmt setup --repo R --apply` and the restart it asks for. */
export async function enableArchiving(c: BenchCluster): Promise<void> {
  await cli(['setup', '--repo', c.repo, '--apply'], c.env);
  await c.catalog.end();
  await c.pg.restart();
  const fresh = await connectCatalog(c.pg, c.catalogDb, c.finished);
  c.catalog = fresh;
  onCleanup(`catalog connection of ${c.pg.name}`, () => fresh.end());
}

/** Segments waiting for the archiver (.ready files). */
export function archiverBacklog(dataDir: string): number {
  try {
    return readdirSync(join(dataDir, 'pg_wal', 'archive_status')).filter((f) => f.endsWith('.ready')).length;
  } catch {
    return 0;
  }
}

/**
 * Waits until the previous step has left nothing behind: no segment waiting
 * for the archiver, and (with an agent) the registry knows the newest
 * archived file. Tools are measured in alternation; one step's leftover
 * archiving and registration would otherwise be charged to the next.
 */
export async function settle(c: BenchCluster, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const registered = !c.agent
      ? true
      : (
          await one<{ ok: boolean }>(
            c.catalog,
            `SELECT a.last_archived_wal IS NULL OR EXISTS (SELECT 1 FROM backup_mgmt.wal_archive AS w WHERE w.file_name = a.last_archived_wal) AS ok
               FROM pg_stat_archiver AS a`,
          )
        ).ok;
    if (registered && archiverBacklog(c.pg.dataDir) === 0) return;
    if (Date.now() > deadline) throw new Error(`${c.name}: archiving or WAL registration still busy after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** ALTER SYSTEM SET archive_command and reload; waits until the server uses it. */
export async function setArchiveCommand(c: BenchCluster, command: string): Promise<void> {
  await c.catalog.query(`ALTER SYSTEM SET archive_command = ${pg.escapeLiteral(command)}`);
  await c.catalog.query('SELECT pg_reload_conf()');
  for (let i = 0; i < 100; i++) {
    const r = await c.catalog.query<{ v: string }>(`SELECT setting AS v FROM pg_settings WHERE name = 'archive_command'`);
    if (r.rows[0]?.v === command) return;
    await sleep(50);
  }
  throw new Error(`archive_command did not change to ${command}`);
}

/**
 * Waits until the job of `jobType` for a subject (a backup's or recovery's
 * hash key, hex) has finished, and returns when that was. The notification
 * decides; a check of the job table every second covers one that was lost.
 */
export async function jobFinished(c: BenchCluster, subjectHk: string, jobType: string, timeoutMs: number): Promise<FinishedJob> {
  const deadline = Date.now() + timeoutMs;
  let nextCheck = Date.now() + 1000;
  for (;;) {
    const seen = c.finished.get(subjectHk);
    if (seen && seen.jobType === jobType) {
      c.finished.delete(subjectHk);
      return seen;
    }
    if (Date.now() >= nextCheck) {
      nextCheck = Date.now() + 1000;
      const r = await c.catalog.query<{ status: string }>(
        `SELECT status FROM backup_mgmt.job WHERE subject_hk = decode($1, 'hex') AND job_type = $2 ORDER BY job_id DESC LIMIT 1`,
        [subjectHk, jobType],
      );
      const status = r.rows[0]?.status;
      // Give a notification that is on its way the chance to bring the exact time.
      if (status && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(status) && !c.finished.has(subjectHk)) {
        await sleep(50);
        if (!c.finished.has(subjectHk)) return { jobType, status, atMs: nowMs() };
      }
    }
    if (Date.now() > deadline) throw new Error(`${jobType} job of ${subjectHk} not finished after ${timeoutMs / 1000} s`);
    await nextJobEvent(Math.max(1, nextCheck - Date.now()));
  }
}

// ---------------------------------------------------------------- agent

export interface AgentProcess {
  child: ChildProcess;
  logFile: string;
  jobTypes: string[];
  stop(): Promise<void>;
}

/** `backup-mgmt agent` as a child process; resolves once it has registered. */
export async function startAgent(c: BenchCluster, extra: string[] = []): Promise<AgentProcess> {
  const logFile = join(c.pg.baseDir, 'agent.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const args = [cliEntry(), 'agent', '--repo', c.repo, '--restore-root', c.restoreRoot, '--agent-id', `bench-${c.name}`, '--wal-scan-seconds', '1', ...extra];
  // setpriv: the agent dies with us even if we are killed without cleanup.
  const [cmd, argv] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', process.execPath, ...args]] : [process.execPath, args];
  const child = trackChild(spawn(cmd, argv, { env: c.env, stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stdout!.pipe(logStream, { end: false });
  child.stderr!.pipe(logStream, { end: false });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    }
    logStream.end();
  };
  const unregister = onCleanup(`agent of ${c.pg.name}`, stop);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      unregister();
      logStream.end();
      throw new Error(`the agent exited with code ${child.exitCode}; log: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    const r = await c.catalog.query<{ types: string[] | null }>(
      `SELECT ARRAY(SELECT jsonb_array_elements_text(coalesce(info->'job_types', '[]'))) AS types
         FROM backup_mgmt.agent WHERE agent_id = $1 AND stopped_at IS NULL AND pid IS NOT NULL`,
      [`bench-${c.name}`],
    );
    if (r.rows.length) {
      const agent: AgentProcess = {
        child,
        logFile,
        jobTypes: r.rows[0]!.types ?? [],
        stop: async () => {
          unregister();
          await stop();
          c.agent = undefined;
        },
      };
      c.agent = agent;
      return agent;
    }
    if (Date.now() > deadline) throw new Error('the agent did not register within 60 s');
    await sleep(100);
  }
}

// ---------------------------------------------------------------- restored clusters

/** Remembers a data directory some tool started a server in, so cleanup stops it. */
export function trackRestoredDir(dataDir: string, removeAfter = true): void {
  installExitHook();
  restoredDirs.add(dataDir);
  onCleanup(`restored cluster ${dataDir}`, () => stopRestored(dataDir, removeAfter));
}

export async function stopRestored(dataDir: string, remove = true): Promise<void> {
  if (existsSync(join(dataDir, 'postmaster.pid'))) {
    const r = await timed(pgTool('pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop'], { asPostgres: true, allowFailure: true });
    if (r.code !== 0 && existsSync(join(dataDir, 'postmaster.pid'))) quitPostmasterSync(dataDir);
  }
  restoredDirs.delete(dataDir);
  if (remove) await rm(dataDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- SQL helpers

export async function one<T extends pg.QueryResultRow>(client: pg.Client, sql: string, params: unknown[] = []): Promise<T> {
  const r = await client.query<T>(sql, params);
  if (r.rows.length !== 1) throw new Error(`expected one row from ${sql.slice(0, 80)}, got ${r.rows.length}`);
  return r.rows[0]!;
}

export async function currentLsnBytes(client: pg.Client): Promise<number> {
  const r = await one<{ b: string }>(client, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS b`);
  return Number(r.b);
}

export function pgbenchPath(): string {
  return pgTool('pgbench');
}

export function connArgs(c: TestCluster, db: string): string[] {
  return ['-h', c.host, '-p', String(c.port), '-U', 'postgres', db];
}
