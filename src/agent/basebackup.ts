// Running pg_basebackup for one plan: build its command line, follow its
// stderr for progress and WAL points, and stop it on request.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { minimalEnv, pgTool } from '../util/process.js';
import { LineSplitter, parseEndPoint, parseProgressLine, parseStartPoint, type Progress, type WalPoint } from './basebackup-output.js';
import { toolConnection } from './conninfo.js';
import type { FullBackupPlan } from './protocol.js';
import { isRetryable, toolReason } from './tool-errors.js';

export type BaseBackupPhase = 'checkpoint' | 'transfer' | 'finishing';

export interface BaseBackupOptions {
  plan: FullBackupPlan;
  stagingDir: string;
  databaseUrl: string;
  /** Host-level default for --max-rate when the plan has none. */
  defaultMaxRate?: string;
  onProgress?: (p: Progress, phase: BaseBackupPhase) => void;
  /** --no-sync: the output is not a file to fsync (a named pipe the agent reads). */
  noSync?: boolean;
  /**
   * Called once pg_basebackup said it is initiating the backup: it has
   * checked that its directory is empty and will open its archive files only
   * after the server's checkpoint.
   */
  onInitiating?: () => void;
}

export interface BaseBackupOutcome {
  start: WalPoint;
  end: WalPoint;
  /** When the start point was reported (the checkpoint had completed). */
  startSeenAt: Date;
  /** When the end point was reported (pg_backup_stop had returned). */
  endSeenAt: Date;
}

export class BaseBackupError extends Error {
  constructor(
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(`pg_basebackup failed: ${reason}`);
    this.name = 'BaseBackupError';
  }
}

export interface BaseBackupRun {
  readonly pid: number | undefined;
  readonly done: Promise<BaseBackupOutcome>;
  /** SIGKILL the pg_basebackup we started; the caller removes the staging directory. */
  kill(): void;
}

const STDERR_KEEP = 64 * 1024;
// A killed agent must not leave pg_basebackup writing into the repository.
// Its progress writes would hit a closed pipe soon anyway; PR_SET_PDEATHSIG
// also covers a long silent checkpoint.
const SETPRIV = '/usr/bin/setpriv';

function compressArg(plan: FullBackupPlan): string[] {
  const c = plan.compression;
  if (!c.enabled) return [];
  const workers = c.workers && c.workers > 0 ? `,workers=${c.workers}` : '';
  return [`--compress=${c.method ?? 'server-zstd'}:level=${c.level ?? 3}${workers}`];
}

export function baseBackupArgs(opts: BaseBackupOptions, applicationName: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const { plan } = opts;
  const conn = toolConnection(opts.databaseUrl, applicationName);
  const maxRate = plan.max_rate ?? opts.defaultMaxRate;
  const args = [
    ...conn.args,
    '-D',
    opts.stagingDir,
    '-Ft',
    '-X',
    plan.wal_method,
    `--checkpoint=${plan.checkpoint}`,
    `--manifest-checksums=${plan.manifest_checksums}`,
    `--label=${plan.label}`,
    '--progress',
    '--verbose',
    ...(opts.noSync ? ['--no-sync'] : []),
    ...compressArg(plan),
    ...(maxRate !== undefined && maxRate !== null ? [`--max-rate=${maxRate}`] : []),
  ];
  return { args, env: conn.env };
}

export function startBaseBackup(opts: BaseBackupOptions): BaseBackupRun {
  const { args, env } = baseBackupArgs(opts, 'backup-mgmt agent');
  const tool = pgTool('pg_basebackup');
  const [cmd, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', tool, ...args]] : [tool, args];
  const child = spawn(cmd, argv, { env: { ...minimalEnv({ pgConnection: true }), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });

  const lines = new LineSplitter();
  let stderr = '';
  let phase: BaseBackupPhase = 'checkpoint';
  let start: WalPoint | undefined;
  let end: WalPoint | undefined;
  let startSeenAt: Date | undefined;
  let endSeenAt: Date | undefined;
  let killed = false;

  const onLine = (line: string) => {
    const progress = parseProgressLine(line);
    if (progress) {
      opts.onProgress?.(progress, phase);
      return;
    }
    stderr = (stderr + line + '\n').slice(-STDERR_KEEP);
    if (opts.onInitiating && /initiating base backup/.test(line)) opts.onInitiating();
    const s = parseStartPoint(line);
    if (s) {
      start = s;
      startSeenAt = new Date();
      phase = 'transfer';
    }
    const e = parseEndPoint(line);
    if (e) {
      end = e;
      endSeenAt = new Date();
      phase = 'finishing';
    }
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => lines.push(s).forEach(onLine));

  const done = new Promise<BaseBackupOutcome>((resolve, reject) => {
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('close', (code, signal) => {
      lines.flush().forEach(onLine);
      if (spawnError) return reject(new BaseBackupError(`could not start ${tool}: ${spawnError.message}`, false));
      if (killed) return reject(new BaseBackupError('stopped by the agent', false));
      if (code !== 0) {
        const why = toolReason(stderr) || (signal ? `killed by ${signal}` : `exit code ${code}`);
        return reject(new BaseBackupError(why, isRetryable(why)));
      }
      if (!start || !end || !startSeenAt || !endSeenAt) {
        return reject(new BaseBackupError(`finished without reporting its WAL start and end points: ${toolReason(stderr)}`, false));
      }
      resolve({ start, end, startSeenAt, endSeenAt });
    });
  });
  // The executor may be busy elsewhere when this settles.
  done.catch(() => {});

  return {
    pid: child.pid,
    done,
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killed = true;
      child.kill('SIGKILL');
    },
  };
}
