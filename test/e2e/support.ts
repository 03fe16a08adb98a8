// What the end-to-end tests share: the built CLI, agents as child processes
// running as the postgres OS user (as in production, the repository belongs
// to the server's user because archive_command writes to it), restores of
// stored backups into new data directories, and table checksums.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { cliEntry, packageRoot } from '../../src/util/paths.js';
import { isRoot, pgTool, runAsPostgres, runCommand } from '../../src/util/process.js';
import { run, type Run } from '../harness/run.js';
import { waitFor as poll } from '../harness/wait.js';

export const NODE = process.execPath;

// ---------------------------------------------------------------- build

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  const entry = cliEntry();
  return existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(packageRoot(), 'src'));
}

/**
 * `npm run -s build` unless dist/ is newer than src/. Test files run in
 * parallel workers, so a lock directory keeps two builds from writing dist/
 * at the same time.
 */
export async function ensureBuilt(): Promise<void> {
  if (upToDate()) return;
  const key = createHash('sha256').update(packageRoot()).digest('hex').slice(0, 12);
  const lock = join(tmpdir(), `bm-build-${key}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A build killed half-way leaves its lock behind; no build takes 5 minutes.
      if (Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      else if (Date.now() > deadline) throw new Error(`waited 3 minutes for ${lock}; remove it if no build is running`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (!upToDate()) await runCommand('npm', ['run', '-s', 'build'], { cwd: packageRoot(), timeoutMs: 170_000, env: process.env, replaceEnv: true });
  } finally {
    rmdirSync(lock);
  }
}

// ---------------------------------------------------------------- OS users and directories

let ids: { uid: number; gid: number } | undefined;

export function postgresIds(): { uid: number; gid: number } {
  if (ids) return ids;
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  ids = { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  return ids;
}

/** A directory the postgres OS user owns (the server and the agent write there). */
export async function postgresDir(path: string, mode = 0o750): Promise<string> {
  await mkdir(path, { recursive: true });
  await chmod(path, mode);
  if (isRoot()) await chown(path, postgresIds().uid, postgresIds().gid);
  return path;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

// ---------------------------------------------------------------- SQL

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params?: unknown[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Database URL of `db` on the same server as `url`. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Order-independent checksum of a table's rows. */
export async function tableChecksum(url: string, table: string): Promise<{ rows: number; md5: string }> {
  const [r] = await query<{ n: string; md5: string }>(
    url,
    `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS md5 FROM ${table} t`,
  );
  return { rows: Number(r!.n), md5: r!.md5 };
}

export async function checksums(url: string, tables: string[]): Promise<Record<string, { rows: number; md5: string }>> {
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const t of tables) out[t] = await tableChecksum(url, t);
  return out;
}

// ---------------------------------------------------------------- the CLI

export type CliResult = Run;

/** Runs `node dist/cli/main.js …` and never throws for a non-zero exit. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; asPostgres?: boolean } = {}): Promise<CliResult> {
  const user = opts.asPostgres && isRoot() ? { uid: postgresIds().uid, gid: postgresIds().gid } : undefined;
  return run(NODE, [cliEntry(), ...args], opts.cwd ?? '/', opts.env, user);
}

// ---------------------------------------------------------------- agents

export interface AgentOptions {
  databaseUrl: string;
  repo: string;
  agentId: string;
  logFile: string;
  extraArgs?: string[];
  /** Where the test watches the catalog (default databaseUrl; the agent's role may not read it). */
  catalogUrl?: string;
}

function agentEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl };
  delete env.BACKUP_MGMT_REPO;
  return env;
}

/** `backup-mgmt agent` as a child process of this test, as the postgres OS user. */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly opts: AgentOptions) {
    const fd = openSync(opts.logFile, 'a');
    try {
      this.child = spawn(NODE, [cliEntry(), 'agent', '--repo', opts.repo, '--agent-id', opts.agentId, ...(opts.extraArgs ?? [])], {
        cwd: '/',
        env: agentEnv(opts.databaseUrl),
        stdio: ['ignore', fd, fd],
        ...(isRoot() ? { uid: postgresIds().uid, gid: postgresIds().gid } : {}),
      });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  get pid(): number {
    return this.child.pid!;
  }

  log(): string {
    return existsSync(this.opts.logFile) ? readFileSync(this.opts.logFile, 'utf8') : '';
  }

  /** Started and registered (its pid is in the catalog). */
  static async start(opts: AgentOptions): Promise<AgentProcess> {
    const a = new AgentProcess(opts);
    let gone = false;
    void a.exited.then(() => (gone = true));
    await waitFor(
      `agent ${opts.agentId} to register`,
      async () => {
        if (gone) throw new Error(`agent ${opts.agentId} exited during start:\n${a.log()}`);
        const rows = await query(opts.catalogUrl ?? opts.databaseUrl, 'SELECT 1 FROM backup_mgmt.agent WHERE agent_id = $1 AND pid = $2 AND stopped_at IS NULL', [
          opts.agentId,
          a.pid,
        ]);
        return rows.length > 0;
      },
      30_000,
    );
    return a;
  }

  /** SIGTERM and wait: the graceful path. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGKILL: the agent dies without a word. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

const running = new Set<AgentProcess>();

/** For afterAll: every agent this test file started and that still runs. */
export async function stopAllAgents(): Promise<void> {
  await Promise.all([...running].map((a) => a.stop()));
}

// ---------------------------------------------------------------- restores

export interface Restored {
  dataDir: string;
  port: number;
  url: (db?: string) => string;
  stop: () => Promise<void>;
}

/**
 * Extract a stored tar-format backup into `dataDir` (zstd -dc | tar -x),
 * start it on a free port with archiving off, and wait until recovery is over.
 */
export async function restoreBackup(backupPath: string, dataDir: string, socketDir: string): Promise<Restored> {
  await mkdir(dataDir, { recursive: true });
  const tar = existsSync(join(backupPath, 'base.tar.zst')) ? join(backupPath, 'base.tar.zst') : join(backupPath, 'base.tar');
  const cmd = tar.endsWith('.zst') ? `zstd -q -dc -- "$1" | tar -x -C "$2"` : `tar -x -f "$1" -C "$2"`;
  await runCommand('bash', ['-c', `set -eo pipefail; ${cmd}`, 'bash', tar, dataDir], { timeoutMs: 120_000 });
  if (isRoot()) await runCommand('chown', ['-R', 'postgres:postgres', dataDir]);
  await chmod(dataDir, 0o700);
  await postgresDir(socketDir, 0o700);
  const port = await freePort();
  const url = await startRestored(dataDir, join(dataDir, '..', `${dataDir.split('/').pop()}.log`), {
    port,
    socketDir,
    why: 'restored by a test',
    // A throwaway copy: skip the start's fsync of every restored file (seconds on a busy disk).
    settings: 'fsync = off\n',
    startSeconds: 60,
    recoveryMs: 60_000,
  });
  return {
    dataDir,
    port,
    url,
    stop: async () => {
      await runAsPostgres(pgTool('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 }).catch(() => {});
    },
  };
}

export interface RestoredStart {
  port: number;
  socketDir: string;
  /** the comment above the appended settings */
  why: string;
  /** more settings lines */
  settings: string;
  /** pg_ctl start -t */
  startSeconds: number;
  /** how long recovery may take after pg_ctl returned */
  recoveryMs: number;
}

/**
 * Starts a restored data directory as postgres on its own port and socket,
 * archiving off and nothing preloaded (appended to postgresql.conf: the last
 * line wins), and waits until it has left recovery (pg_ctl -w may return as
 * soon as recovery starts). A failed start reports the server log.
 */
export async function startRestored(dataDir: string, logFile: string, o: RestoredStart): Promise<(db?: string) => string> {
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    `\n# ${o.why}\nport = ${o.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${o.socketDir}'\n` +
      `archive_mode = off\nshared_preload_libraries = ''\n${o.settings}`,
  );
  await runAsPostgres(pgTool('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', String(o.startSeconds), 'start'], {
    timeoutMs: (o.startSeconds + 30) * 1000,
  }).catch((e) => {
    throw new Error(`${(e as Error).message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
  });
  const url = (db = 'postgres') => `postgresql://postgres@127.0.0.1:${o.port}/${db}`;
  await waitFor('the restored server to leave recovery', async () => {
    try {
      const [r] = await query<{ rec: boolean }>(url(), 'SELECT pg_is_in_recovery() AS rec');
      return r!.rec === false;
    } catch {
      return false;
    }
  }, o.recoveryMs);
  return url;
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Polls `fn` until it returns something other than undefined/false. */
export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> =>
  poll(what, fn, timeoutMs, everyMs);
