// Small process helpers shared by the test harness and the agent: run a tool,
// run it as the postgres OS user when we are root, and find PostgreSQL's
// binaries.
import { spawn, execFileSync } from 'node:child_process';
import { setPriority } from 'node:os';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export interface RunOptions {
  cwd?: string;
  /** Environment for the child; merged over minimalEnv() unless `replaceEnv`. */
  env?: NodeJS.ProcessEnv;
  replaceEnv?: boolean;
  /** The tool connects to the source database: pass libpq's PG* variables (and HOME, for ~/.pgpass) too. */
  pgConnection?: boolean;
  /** Kill the child (SIGTERM, then SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** CPU niceness of the child (0 normal, 19 lowest): bookkeeping must not slow a backup. */
  priority?: number;
}

/** Niceness for background bookkeeping (WAL registration) that shares the cores with backups. */
export const BACKGROUND_PRIORITY = 10;

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A tool exited non-zero, died from a signal, timed out or could not start. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** How a command is to be spawned; `asPostgresUser` may rewrite all three. */
export interface CommandSpec {
  cmd: string;
  args: string[];
  cwd?: string;
}

const KILL_GRACE_MS = 5_000;

/** The system's directories only: an entry of the caller's PATH could hold a planted `zstd` or `sh`. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Locale and time zone shape a tool's messages and the server's log; nothing else of ours concerns it.
const PASSED = /^(LANG|LANGUAGE|LC_[A-Z]+|TZ)$/;
// What libpq reads to reach the source; PG_BINDIR is the agent's own.
const PG_CONNECTION = /^(PG(HOST|HOSTADDR|PORT|USER|PASSWORD|PASSFILE|SERVICE|SERVICEFILE|SSL[A-Z]*|REQUIRESSL|GSS[A-Z]*|KRBSRVNAME|CONNECT_TIMEOUT|TARGETSESSIONATTRS|CHANNELBINDING|SYSCONFDIR|TZ|CLIENTENCODING)|HOME)$/;

/**
 * The environment of every child the pack spawns: PATH of system directories
 * and the locale, nothing else (no DATABASE_URL, no passwords, no NODE_OPTIONS).
 * Tools that connect to the source get libpq's variables on request; a
 * restored server never does.
 */
export function minimalEnv(opts: { pgConnection?: boolean } = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: SAFE_PATH };
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (PASSED.test(k) || (opts.pgConnection && PG_CONNECTION.test(k))) env[k] = v;
  }
  return env;
}

export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = opts.replaceEnv ? opts.env : { ...minimalEnv({ pgConnection: opts.pgConnection }), ...opts.env };
    const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    if (opts.priority !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, opts.priority);
      } catch {
        // Already gone, or not allowed: it runs at normal priority.
      }
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            // A tool that ignores SIGTERM must not hang the caller forever.
            killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
            killTimer.unref();
          }, opts.timeoutMs);

    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // EPIPE when the child exits without reading its input is not our error;
    // the exit status tells the story.
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const shown = [cmd, ...args].join(' ');
      if (spawnError || timedOut || code !== 0) {
        const why = spawnError
          ? `could not start: ${spawnError.message}`
          : timedOut
            ? `timed out after ${opts.timeoutMs} ms`
            : signal
              ? `killed by ${signal}`
              : `exited with code ${code}`;
        const detail = stderr.trim() || stdout.trim();
        reject(
          new CommandError(
            `${shown}: ${why}${detail ? `\n${detail}` : ''}`,
            cmd,
            [...args],
            code,
            signal,
            stdout,
            stderr,
          ),
        );
        return;
      }
      resolve({ stdout, stderr });
    });

    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * initdb, pg_ctl and postgres refuse to run as root, so as root the command is
 * wrapped in `runuser -u postgres --`. runuser keeps the current directory and
 * postgres cannot enter /root, hence cwd `/`.
 */
export function asPostgresUser(cmd: string, args: readonly string[]): CommandSpec {
  if (!isRoot()) return { cmd, args: [...args] };
  return { cmd: 'runuser', args: ['-u', 'postgres', '--', cmd, ...args], cwd: '/' };
}

/** runCommand through asPostgresUser; an explicit opts.cwd wins. */
export function runAsPostgres(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const spec = asPostgresUser(cmd, args);
  return runCommand(spec.cmd, spec.args, { ...opts, cwd: opts.cwd ?? spec.cwd });
}

// A server package's bindir has both; client-only directories (or the
// unrelated tools in /usr/local/bin) lack one of them.
const REQUIRED_TOOLS = ['initdb', 'pg_basebackup'];
const DEBIAN_PG15_BINDIR = '/usr/lib/postgresql/15/bin';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function hasServerTools(dir: string | undefined): dir is string {
  return !!dir && REQUIRED_TOOLS.every((t) => isExecutableFile(join(dir, t)));
}

function pgConfigBindir(): string | undefined {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

// PATH entries may be symlinks (/usr/local/bin/initdb -> the real bindir):
// follow initdb to its real directory before checking for the other tools.
function bindirFromPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'initdb');
    if (!existsSync(candidate)) continue;
    try {
      const real = dirname(realpathSync(candidate));
      if (hasServerTools(real)) return real;
    } catch {
      // Dangling link: try the next PATH entry.
    }
  }
  return undefined;
}

let cachedBindir: { key: string; dir: string } | undefined;

/**
 * The directory holding PostgreSQL's server tools: PG_BINDIR, then
 * `pg_config --bindir`, then Debian's PostgreSQL 15 directory, then PATH.
 * A candidate counts only if it contains both initdb and pg_basebackup.
 */
export function pgBinDir(): string {
  const key = process.env.PG_BINDIR ?? '';
  if (cachedBindir && cachedBindir.key === key) return cachedBindir.dir;
  const tried: string[] = [];
  const candidates: Array<() => string | undefined> = [
    () => process.env.PG_BINDIR || undefined,
    pgConfigBindir,
    () => DEBIAN_PG15_BINDIR,
    bindirFromPath,
  ];
  for (const next of candidates) {
    const dir = next();
    if (dir) tried.push(dir);
    if (hasServerTools(dir)) {
      cachedBindir = { key, dir };
      return dir;
    }
  }
  throw new Error(
    `PostgreSQL server binaries (${REQUIRED_TOOLS.join(', ')}) not found` +
      (tried.length ? ` in ${[...new Set(tried)].join(', ')}` : '') +
      '; set PG_BINDIR or install postgresql-15 (bash .ci/ensure-deps.sh)',
  );
}

/** Absolute path of a PostgreSQL tool in pgBinDir(). */
export function pgTool(name: string): string {
  const dir = pgBinDir();
  const path = join(dir, name);
  if (!isExecutableFile(path)) throw new Error(`PostgreSQL tool ${name} not found in ${dir}`);
  return path;
}
