// A restored cluster run with pg_ctl as the server's OS user: start it, watch
// its log, connect through its private socket, stop it. The postmaster is not
// our child (pg_ctl detaches it), so a kept restore outlives the agent.
import { existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { CommandError, pgTool, runAsPostgres } from '../util/process.js';

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface RestoredServerOptions {
  dataDir: string;
  socketDir: string;
  logFile: string;
  port: number;
  /** Extra `postgres` options for pg_ctl -o, already shell-quoted. */
  postgresOptions?: string;
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
  private pgCtlStart: Promise<void> | undefined;
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

  private pgCtl(args: string[], timeoutMs: number) {
    return runAsPostgres(pgTool('pg_ctl'), ['-D', this.o.dataDir, ...args], { timeoutMs });
  }

  /**
   * pg_ctl -w start in the background: it returns once the server accepts
   * connections (consistency reached, hot standby), or fails when the
   * postmaster died. Promotion is waited for separately.
   */
  start(waitSeconds: number): void {
    const args = ['-l', this.o.logFile, '-w', '-t', String(waitSeconds)];
    if (this.o.postgresOptions) args.push('-o', this.o.postgresOptions);
    this.startError = undefined;
    this.startSettled = false;
    this.pgCtlStart = this.pgCtl([...args, 'start'], (waitSeconds + 30) * 1000).then(
      () => {
        this.startSettled = true;
      },
      (e: Error) => {
        this.startSettled = true;
        this.startError = e;
      },
    );
  }

  /** pg_ctl start has failed (the postmaster exited or it timed out). */
  get startFailed(): Error | undefined {
    return this.startError;
  }

  /**
   * Cheap liveness for polling: the postmaster named in postmaster.pid exists.
   * While pg_ctl start has not finished, a missing pid file means "not yet".
   */
  async alive(): Promise<boolean> {
    let pid: number;
    try {
      pid = Number((await readFile(join(this.o.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    } catch {
      return this.pgCtlStart !== undefined && this.startError === undefined && !this.startSettled;
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
    await this.pgCtlStart;
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
    const c = new pg.Client({
      host: this.o.socketDir,
      port: this.port,
      user,
      database,
      connectionTimeoutMillis: timeoutMs,
      application_name: 'backup-mgmt agent (restore validation)',
    });
    // A server that goes away mid-query must reject the query, not crash the agent.
    c.on('error', () => {});
    await c.connect();
    return c;
  }
}
