// Throwaway local PostgreSQL clusters, in the manner of PostgreSQL's TAP
// framework (PostgreSQL::Test::Cluster): initdb into a private directory, a
// free TCP port on 127.0.0.1, a private socket directory, pg_ctl to run it.
// Used by the test harness (test/harness/cluster.ts adds vitest hooks), the
// demo and the benchmarks; never by the published package (tools/ is not
// built into dist/).
import { closeSync, existsSync, openSync, readSync, fstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import pg from 'pg';
import { allocatePort, releasePort } from '../src/pg/ports.js';
import { postgresIds } from '../src/pg/postgres-user.js';
import { confBlock, confLine, type Settings } from '../src/pg/server-config.js';
import { isRoot, pgTool, runAsPostgres, CommandError } from '../src/util/process.js';

// The production helpers the clusters use, for the harness, demo and bench.
export { allocatePort, confBlock, confLine, postgresIds, releasePort, type Settings };

/**
 * The environment a throwaway server starts with: the caller's, without its
 * Node.js settings. archive_command runs with the server's environment, and
 * a server under systemd has none of a shell's NODE_OPTIONS or
 * NODE_EXTRA_CA_CERTS (the latter alone adds 40-80 ms to every Node start
 * here, so to every archived segment).
 */
export function serverEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export const CLUSTER_ROOT = process.env.BM_CLUSTER_ROOT ?? '/tmp/bm-clusters';

// global-setup.ts sets BM_RUN_ID for the workers; outside vitest (a script
// importing the harness) each process gets its own run directory.
const ADHOC = process.env.BM_RUN_ID === undefined;
export const RUN_ID = process.env.BM_RUN_ID ?? `adhoc-${process.pid}-${Date.now()}`;
export const RUN_DIR = join(CLUSTER_ROOT, RUN_ID);

export interface CreateClusterOptions {
  /** Directory name prefix; a counter makes it unique. Default "pg". */
  name?: string;
  /** Preload pg_cron and point it at the private socket. Default true. */
  pgCron?: boolean;
  /** postgresql.conf settings, applied after (and overriding) the harness's own. */
  settings?: Settings;
  /** Extra initdb arguments, e.g. ['--data-checksums']. */
  initdbArgs?: string[];
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface StartOptions {
  /**
   * Variables added to the server's environment for this start only (the
   * next start without them drops them), e.g. LD_PRELOAD and FAKETIME to run
   * the server under libfaketime. archive_command inherits them too.
   */
  env?: Readonly<Record<string, string>>;
}

export interface TestCluster {
  readonly name: string;
  readonly baseDir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  /** May change in start() if another process took the port meanwhile. */
  readonly port: number;
  readonly host: '127.0.0.1';
  /** True once keepOnFailure() ran or BM_KEEP_CLUSTERS=1: destroy() leaves the files. */
  readonly kept: boolean;
  connectionString(db?: string, user?: string): string;
  /** One statement on a short-lived connection; resolves to the rows. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], db?: string): Promise<T[]>;
  /** A connected client for transactions or LISTEN; the caller ends it. */
  connect(db?: string, user?: string): Promise<pg.Client>;
  start(opts?: StartOptions): Promise<void>;
  stop(mode?: StopMode): Promise<void>;
  restart(opts?: StartOptions): Promise<void>;
  isRunning(): Promise<boolean>;
  /** Stop and remove the directory (unless kept). */
  destroy(): Promise<void>;
  /** Last lines of the server log. */
  logTail(lines?: number): string;
  /** Append settings to postgresql.conf; takes effect on restart (or reload, where allowed). */
  appendConf(settings: Settings): Promise<void>;
  createDatabase(name: string, template?: string): Promise<void>;
  /** Keep the files for inspection when destroy() is called. */
  keepOnFailure(): void;
}

export function keepAllClusters(): boolean {
  return process.env.BM_KEEP_CLUSTERS === '1';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

// All clusters this process created and not yet destroyed.
const registry = new Set<ClusterImpl>();
let exitHookInstalled = false;

/**
 * Immediate shutdown without waiting: SIGQUIT to the postmaster named in the
 * cluster's own postmaster.pid, after checking that the pid file belongs to
 * this data directory and the pid is still a postgres process (pids recycle).
 */
function quitPostmasterSync(dataDir: string): void {
  try {
    const [pidLine, dirLine] = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(pidLine);
    if (!Number.isInteger(pid) || pid <= 0 || dirLine !== dataDir) return;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return;
    process.kill(pid, 'SIGQUIT');
  } catch {
    // No pid file or no such process: nothing of ours is running there.
  }
}

function quitAllSync(): void {
  for (const c of registry) if (c.maybeRunning) quitPostmasterSync(c.dataDir);
}

const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

function onFatalSignal(signal: NodeJS.Signals): void {
  quitAllSync();
  // Re-raise with the default action so the process still dies of the signal.
  for (const s of FATAL_SIGNALS) process.removeListener(s, onFatalSignal);
  process.kill(process.pid, signal);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test file forgot destroy(). 'exit' handlers must be
  // synchronous, and vitest ends its workers with SIGTERM (SIGKILL 500 ms
  // later), which skips 'exit': so signal the postmasters, never wait.
  process.on('exit', quitAllSync);
  for (const s of FATAL_SIGNALS) process.on(s, onFatalSignal);
}

/** Stop every cluster this process created (they stay registered and on disk). */
export async function stopAll(mode: StopMode = 'fast'): Promise<void> {
  await Promise.allSettled([...registry].map((c) => c.stop(mode)));
}

/** Destroy every cluster this process created. */
export async function destroyAll(): Promise<void> {
  await Promise.allSettled([...registry].map((c) => c.destroy()));
}

// Reads only the end of a log that may have grown large.
function readTail(path: string, lines: number, maxBytes = 256 * 1024): string {
  if (!existsSync(path)) return '';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    return (await readFile(path)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

const MAX_START_ATTEMPTS = 5;

class ClusterImpl implements TestCluster {
  readonly host = '127.0.0.1' as const;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  port: number;
  private keep = false;
  private destroyed = false;
  /** False only when we know the server is down; the exit hook trusts it. */
  maybeRunning = false;

  constructor(
    readonly name: string,
    readonly baseDir: string,
    port: number,
  ) {
    this.dataDir = join(baseDir, 'data');
    this.socketDir = join(baseDir, 'sock');
    this.logFile = join(baseDir, 'postgres.log');
    this.port = port;
  }

  get kept(): boolean {
    return this.keep || keepAllClusters();
  }

  keepOnFailure(): void {
    this.keep = true;
  }

  connectionString(db = 'postgres', user = 'postgres'): string {
    return `postgresql://${encodeURIComponent(user)}@${this.host}:${this.port}/${encodeURIComponent(db)}`;
  }

  async connect(db = 'postgres', user = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client({ host: this.host, port: this.port, user, database: db, connectionTimeoutMillis: 30_000 });
    await client.connect();
    return client;
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], db = 'postgres'): Promise<T[]> {
    const client = new pg.Client({ host: this.host, port: this.port, user: 'postgres', database: db, connectionTimeoutMillis: 30_000 });
    // A server that goes away mid-query emits 'error' on the client; without
    // a listener that would crash the worker instead of rejecting the query.
    client.on('error', () => {});
    try {
      await client.connect();
      const res = await client.query<T>(sql, params);
      return res.rows;
    } catch (e) {
      // Say which server answered; the error object (and its SQLSTATE) stays.
      if (e instanceof Error) e.message = `${e.message} [cluster ${this.name}, 127.0.0.1:${this.port}/${db}]`;
      throw e;
    } finally {
      await client.end().catch(() => {});
    }
  }

  private pgCtl(args: string[], timeoutMs = 90_000, extraEnv: Readonly<Record<string, string>> = {}) {
    return runAsPostgres(pgTool('pg_ctl'), ['-D', this.dataDir, ...args], { timeoutMs, env: { ...serverEnvironment(), ...extraEnv }, replaceEnv: true });
  }

  async isRunning(): Promise<boolean> {
    // pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
    try {
      await this.pgCtl(['status'], 30_000);
      return true;
    } catch (e) {
      if (e instanceof CommandError && (e.exitCode === 3 || e.exitCode === 4)) {
        this.maybeRunning = false;
        return false;
      }
      throw e;
    }
  }

  async start(opts: StartOptions = {}): Promise<void> {
    if (await this.isRunning()) return;
    for (let attempt = 1; ; attempt++) {
      const offset = logSize(this.logFile);
      this.maybeRunning = true;
      try {
        await this.pgCtl(['-w', '-t', '60', '-l', this.logFile, 'start'], 90_000, opts.env);
        return;
      } catch (e) {
        const log = await readFrom(this.logFile, offset);
        // pg_ctl -w may time out while a postmaster lingers; find out.
        this.maybeRunning = await this.isRunning().catch(() => true);
        const portTaken = /could not bind IPv4 address|Address already in use/i.test(log);
        if (portTaken && !this.maybeRunning && attempt < MAX_START_ATTEMPTS) {
          // Another process (perhaps another test worker) took the port
          // between our probe and the server's bind: move to a new one.
          releasePort(this.port);
          this.port = await allocatePort();
          await appendFile(this.dataDir + '/postgresql.conf', confBlock({ port: this.port }, 'port in use, moved by the test harness'));
          continue;
        }
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(`cluster ${this.name}: start failed (${this.baseDir})\n${msg}\n--- server log ---\n${log.trim() || this.logTail(30)}`);
      }
    }
  }

  async stop(mode: StopMode = 'fast'): Promise<void> {
    if (!(await this.isRunning())) return;
    await this.pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
    this.maybeRunning = false;
  }

  async restart(opts: StartOptions = {}): Promise<void> {
    await this.stop('fast');
    await this.start(opts);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.stop('fast');
    } catch {
      // Fast shutdown can hang on a stuck backend; make sure it is gone.
      await this.stop('immediate').catch(() => {});
    }
    if (this.kept) {
      console.error(`[harness] kept cluster ${this.name}: ${this.baseDir} (log: ${this.logFile})`);
    } else {
      await rm(this.baseDir, { recursive: true, force: true });
      releasePort(this.port);
      // Without global-setup nobody else removes a per-process run directory.
      // (Under vitest, workers share it, and another may be creating in it.)
      if (ADHOC) await rmdir(RUN_DIR).catch(() => {});
    }
    // A still-running server stays registered for the exit hook.
    if (!this.maybeRunning) {
      registry.delete(this);
      this.destroyed = true;
    }
  }

  logTail(lines = 50): string {
    return readTail(this.logFile, lines);
  }

  async appendConf(settings: Settings): Promise<void> {
    await appendFile(join(this.dataDir, 'postgresql.conf'), confBlock(settings, 'appended by a test'));
  }

  async createDatabase(name: string, template?: string): Promise<void> {
    await this.query(`CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : ''}`);
  }
}

// initdb -A trust writes these already; a later PostgreSQL (or a packager's
// initdb) that did not would break pg_basebackup, so add what is missing.
async function ensureReplicationHba(dataDir: string): Promise<void> {
  const file = join(dataDir, 'pg_hba.conf');
  const rules = (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim().split(/\s+/))
    .filter((f) => f.length >= 3);
  const hasLocal = rules.some((f) => f[0] === 'local' && f[1] === 'replication');
  const hasHost = rules.some((f) => f[0] === 'host' && f[1] === 'replication' && f[3] === '127.0.0.1/32');
  const extra: string[] = [];
  if (!hasLocal) extra.push('local   replication   all                   trust');
  if (!hasHost) extra.push('host    replication   all   127.0.0.1/32    trust');
  if (extra.length) await appendFile(file, `\n# added by the test harness\n${extra.join('\n')}\n`);
}

/**
 * mkdir -p, then chmod 0755 the directories this call created (and only
 * those: the root may be an existing shared directory): a umask of 077 would
 * otherwise lock the postgres user out of its own cluster.
 */
export async function makeTraversableDir(target: string): Promise<void> {
  const first = await mkdir(target, { recursive: true });
  if (first === undefined) return;
  const rel = relative(first, target);
  let dir = first;
  await chmod(dir, 0o755);
  for (const part of rel ? rel.split(sep) : []) {
    dir = join(dir, part);
    await chmod(dir, 0o755);
  }
}

// mkdir without `recursive` fails when the directory exists, so two workers
// sharing the run directory never get the same cluster directory.
async function makeBaseDir(prefix: string): Promise<{ dir: string; name: string }> {
  await makeTraversableDir(RUN_DIR);
  for (let n = 1; n < 10_000; n++) {
    const name = `${prefix}-${n}`;
    const dir = join(RUN_DIR, name);
    try {
      await mkdir(dir);
      return { dir, name };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`no free cluster directory name for ${prefix} in ${RUN_DIR}`);
}

export async function createCluster(opts: CreateClusterOptions = {}): Promise<TestCluster> {
  const pgCron = opts.pgCron ?? true;
  const { dir: baseDir, name } = await makeBaseDir(opts.name ?? 'pg');
  const port = await allocatePort();
  const cluster = new ClusterImpl(name, baseDir, port);
  registry.add(cluster);
  installExitHook();
  try {
    await mkdir(cluster.dataDir, { mode: 0o700 });
    await mkdir(cluster.socketDir, { mode: 0o700 });
    // initdb insists on 0700 whatever the umask did.
    await chmod(cluster.dataDir, 0o700);
    if (isRoot()) {
      // The server runs as postgres and must own everything it writes to;
      // the run directory above stays root-owned but traversable.
      const { uid, gid } = postgresIds();
      for (const d of [baseDir, cluster.dataDir, cluster.socketDir]) await chown(d, uid, gid);
    }
    const initdbArgs = ['-A', 'trust', '-N', '-U', 'postgres', '--encoding=UTF8', '--locale=C', ...(opts.initdbArgs ?? []), '-D', cluster.dataDir];
    await runAsPostgres(pgTool('initdb'), initdbArgs, { timeoutMs: 120_000 });

    const settings: Settings = {
      listen_addresses: '127.0.0.1',
      port,
      unix_socket_directories: cluster.socketDir,
      wal_level: 'replica',
      max_wal_senders: 10,
      max_connections: 50,
      logging_collector: 'off',
      ...(pgCron
        ? {
            shared_preload_libraries: 'pg_cron',
            'cron.database_name': 'postgres',
            // pg_cron's libpq connections go through our private socket
            // (trust in pg_hba), not to some other server on localhost.
            'cron.host': cluster.socketDir,
          }
        : {}),
      ...(opts.settings ?? {}),
    };
    await appendFile(join(cluster.dataDir, 'postgresql.conf'), confBlock(settings, 'test harness settings'));
    await ensureReplicationHba(cluster.dataDir);
    // The log file must belong to postgres: pg_ctl -l opens it as that user.
    await writeFile(cluster.logFile, '');
    if (isRoot()) {
      const { uid, gid } = postgresIds();
      await chown(cluster.logFile, uid, gid);
    }
    await cluster.start();
    return cluster;
  } catch (e) {
    // Keep the evidence: the directory stays and the path is in the message.
    cluster.keepOnFailure();
    await cluster.stop('immediate').catch(() => {});
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`createCluster(${name}) failed; files kept in ${baseDir}\n${msg}`, { cause: e });
  }
}

/** Names of cluster directories left in the run directory (kept or leaked). */
export function leftoverClusterDirs(runDir = RUN_DIR): string[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(runDir, d.name));
}

