// A restored cluster run as the server's OS user: start it, watch its log,
// connect through its private socket, stop it. The postmaster is spawned
// directly (pg_ctl start would run it through /bin/sh -c with the data
// directory in the command line), in a session of its own with a minimal
// environment, so a kept restore outlives the agent and inherits nothing of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { postgresIds } from '../pg/postgres-user.js';
import { PINNED_OPTIONS } from './conninfo.js';
import { CommandError, isRoot, minimalEnv, pgTool, runAsPostgres } from '../util/process.js';

export type StopMode = 'smart' | 'fast' | 'immediate';

const SETPRIV = '/usr/bin/setpriv';

export interface RestoredServerOptions {
  dataDir: string;
  socketDir: string;
  logFile: string;
  port: number;
  /** Extra `postgres` arguments (e.g. -c data_directory=…), passed as they are: no shell. */
  postgresArgs?: string[];
}

/**
 * Every connection to a restored copy: the copy is hostile (any role of the
 * source may have planted objects, or `ALTER DATABASE … SET search_path`).
 * The startup packet pins search_path, which overrides any database or role
 * setting; every query also names pg_catalog's objects.
 */
export const RESTORED_CONNECTION_OPTIONS = PINNED_OPTIONS;

/** The pg client configuration of a connection to a restored copy (exported for the tests). */
export function restoredClientConfig(socketDir: string, port: number, user: string, database: string, timeoutMs: number): pg.ClientConfig {
  return {
    host: socketDir,
    port,
    user,
    database,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'backup-mgmt agent (restore validation)',
    options: RESTORED_CONNECTION_OPTIONS,
  };
}

// Connection attempts during startup log these FATALs themselves; they say nothing about recovery.
const CONNECTION_NOISE = /the database system is (starting up|not yet accepting connections|shutting down|in recovery mode)|terminating connection because of crash|role ".*" does not exist|database ".*" does not exist/;

/** The line that explains why the server stopped: its first FATAL or PANIC that is not connection noise. */
export function fatalLine(log: string): string | undefined {
  const lines = log.split('\n').filter((l) => /\b(FATAL|PANIC):/.test(l) && !CONNECTION_NOISE.test(l));
  const line = lines.find((l) => /recovery|WAL|archive|restore|checkpoint|could not|invalid/i.test(l)) ?? lines[0];
  return line?.replace(/^.*?\b(FATAL|PANIC):\s*/, '$1: ').trim();
}

export class RestoredServer {
  port: number;
  private postmaster: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private startError: Error | undefined;
  private startSettled = false;

  constructor(private readonly o: RestoredServerOptions) {
    this.port = o.port;
  }

  get dataDir(): string {
    return this.o.dataDir;
  }

  get socketDir(): string {
    return this.o.socketDir;
  }

  get logFile(): string {
    return this.o.logFile;
  }

  /** The postmaster's pid while the agent has it as its child. */
  get pid(): number | undefined {
    return this.postmaster?.pid;
  }

  private pgCtl(args: string[], timeoutMs: number) {
    return runAsPostgres(pgTool('pg_ctl'), ['-D', this.o.dataDir, ...args], { timeoutMs });
  }

  /**
   * `postgres -D <dir>` as the server's OS user, without a shell, detached,
   * its output appended to the log. Readiness (consistency, the target) is
   * waited for by connecting; an exit of the postmaster is a failed start.
   */
  start(): void {
    this.startError = undefined;
    this.startSettled = false;
    const fd = openSync(this.o.logFile, 'a');
    try {
      const argv = [pgTool('postgres'), '-D', this.o.dataDir, ...(this.o.postgresArgs ?? [])];
      // As root: become the server's user with its supplementary groups (e.g.
      // ssl-cert) by setpriv, which execs in place (runuser would stay as the
      // parent); without setpriv, by spawn's uid/gid.
      const viaSetpriv = isRoot() && existsSync(SETPRIV);
      const ids = isRoot() && !viaSetpriv ? postgresIds() : undefined;
      const [cmd, args] = viaSetpriv ? [SETPRIV, ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', ...argv]] : [argv[0]!, argv.slice(1)];
      const child = spawn(cmd, args, {
        cwd: this.o.dataDir,
        env: minimalEnv(),
        detached: true,
        stdio: ['ignore', fd, fd],
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      });
      this.postmaster = child;
      this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
      child.once('error', (e) => {
        this.startSettled = true;
        this.startError = e;
      });
      child.once('exit', (code, signal) => {
        this.startSettled = true;
        this.startError ??= new Error(`the postmaster exited (${signal ? `signal ${signal}` : `code ${code}`})`);
        this.postmaster = undefined;
      });
      // A kept restore stays up after the agent exits.
      child.unref();
    } finally {
      closeSync(fd);
    }
  }

  /** The postmaster could not start or has exited. */
  get startFailed(): Error | undefined {
    return this.startError;
  }

  /**
   * Cheap liveness for polling: the postmaster named in postmaster.pid exists.
   * While our postmaster runs and has not written its pid file yet, a missing pid file means "not yet".
   */
  async alive(): Promise<boolean> {
    let pid: number;
    try {
      pid = Number((await readFile(join(this.o.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    } catch {
      return this.postmaster !== undefined && this.startError === undefined && !this.startSettled;
    }
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      // EPERM: it exists, it just is not ours to signal (the agent is not the server's OS user).
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** pg_ctl status: 0 running, 3 not running, 4 no data directory. */
  async isRunning(): Promise<boolean> {
    if (!existsSync(this.o.dataDir)) return false;
    try {
      await this.pgCtl(['status'], 30_000);
      return true;
    } catch (e) {
      if (e instanceof CommandError && (e.exitCode === 3 || e.exitCode === 4)) return false;
      throw e;
    }
  }

  /** pg_ctl promote, waiting until the server is out of recovery. */
  async promote(waitSeconds = 600): Promise<void> {
    await this.pgCtl(['-w', '-t', String(waitSeconds), 'promote'], (waitSeconds + 30) * 1000);
  }

  async stop(mode: StopMode = 'fast'): Promise<void> {
    // Still starting (no pid file yet, so pg_ctl cannot see it): signal our child itself.
    const child = this.postmaster;
    if (child && !this.startSettled && !(await this.isRunning())) {
      child.kill(mode === 'smart' ? 'SIGTERM' : mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
      if (!this.startSettled) child.kill('SIGKILL');
      return;
    }
    if (!(await this.isRunning())) return;
    try {
      await this.pgCtl(['-m', mode, '-w', '-t', '60', 'stop'], 90_000);
    } catch (e) {
      if (mode === 'immediate') throw e;
      // A fast shutdown can hang on a stuck backend; make sure it is gone.
      await this.pgCtl(['-m', 'immediate', '-w', '-t', '60', 'stop'], 90_000);
    }
  }

  async logText(): Promise<string> {
    try {
      const fh = await open(this.o.logFile, 'r');
      try {
        return (await fh.readFile()).toString('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return '';
    }
  }

  async logSize(): Promise<number> {
    try {
      return (await stat(this.o.logFile)).size;
    } catch {
      return 0;
    }
  }

  /** A client on the private socket; the caller ends it. */
  async connect(user: string, database: string, timeoutMs = 5_000): Promise<pg.Client> {
    const c = new pg.Client(restoredClientConfig(this.o.socketDir, this.port, user, database, timeoutMs));
    // A server that goes away mid-query must reject the query, not crash the agent.
    c.on('error', () => {});
    await c.connect();
    return c;
  }
}
