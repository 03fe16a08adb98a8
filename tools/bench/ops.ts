// The timed operations the sections repeat: the agent's full backup through
// SQL, raw pg_basebackup, the agent's PITR, and starting a restored copy.
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { pgTool } from '../../src/util/process.js';
import { type BenchCluster, jobFinished, mkdirForPostgres, nowMs, one, sleep, timed, trackRestoredDir, treeBytes } from './env.js';

export const CORES = availableParallelism();
export const BEST_COMPRESSION = `server-zstd:level=3,workers=${CORES}`;

export interface AgentBackup {
  hk: string;
  bk: string;
  /** Client wall clock: create_full_backup() sent → the job-finished notification received. */
  wallSeconds: number;
  /** Server clock: job created_at → finished_at. */
  serverSeconds: number;
  /** The catalog's backup_duration_seconds (claim → published, without verification). */
  backupSeconds: number;
  backupBytes: number;
  storedBytes: number;
  verification: string | null;
  requestedAtMs: number;
  completedAtMs: number;
}

interface BackupRow {
  backup_bk: string;
  backup_status: string;
  verification_status: string | null;
  backup_size_bytes: string | null;
  compressed_size_bytes: string | null;
  backup_duration_seconds: string | null;
  error_message: string | null;
  verification_detail: string | null;
}

/** create_full_backup() through SQL, then wait for the job's notification: no polling load beside the backup. */
export async function agentFullBackup(c: BenchCluster, opts: { verify: boolean; timeoutMs?: number }): Promise<AgentBackup> {
  const t0 = nowMs();
  // (The request's own rows are not visible to the rest of its statement: read them afterwards.)
  const req = await one<{ hk: string }>(c.catalog, `SELECT encode(backup_id, 'hex') AS hk FROM backup_mgmt.create_full_backup(p_verify_backup => $1)`, [opts.verify]);
  const done = await jobFinished(c, req.hk, 'BACKUP', opts.timeoutMs ?? 3_600_000);
  const r = await one<BackupRow>(
    c.catalog,
    `SELECT backup_bk, backup_status, verification_status, backup_size_bytes, compressed_size_bytes, backup_duration_seconds, error_message, verification_detail
       FROM backup_mgmt.get_backup($1)`,
    [req.hk],
  );
  if (r.backup_status !== 'COMPLETED') throw new Error(`agent backup ${r.backup_bk} ended ${r.backup_status} (job ${done.status}): ${r.error_message ?? ''}`);
  if (opts.verify && r.verification_status !== 'VERIFIED') {
    throw new Error(`backup ${r.backup_bk} verification ${r.verification_status}: ${r.verification_detail ?? ''}`);
  }
  const srv = await one<{ s: string }>(
    c.catalog,
    `SELECT extract(epoch FROM max(finished_at) - min(created_at))::float8::text AS s FROM backup_mgmt.job WHERE subject_hk = decode($1, 'hex') AND job_type = 'BACKUP'`,
    [req.hk],
  );
  return {
    hk: req.hk,
    bk: r.backup_bk,
    wallSeconds: (done.atMs - t0) / 1000,
    serverSeconds: Number(srv.s),
    backupSeconds: Number(r.backup_duration_seconds),
    backupBytes: Number(r.backup_size_bytes),
    storedBytes: Number(r.compressed_size_bytes),
    verification: r.verification_status,
    requestedAtMs: t0,
    completedAtMs: done.atMs,
  };
}

/** Removes a stored agent backup's files to keep the repository small (the catalog keeps the row). */
export async function dropAgentBackupFiles(c: BenchCluster, hk: string): Promise<void> {
  const r = await c.catalog.query<{ p: string | null }>('SELECT repository_path AS p FROM backup_mgmt.get_backup($1)', [hk]);
  const p = r.rows[0]?.p;
  if (p && p.startsWith(c.repo)) await rm(p, { recursive: true, force: true });
}

/** Raw pg_basebackup with the best compression setting; the directory is removed afterwards. */
export async function rawBaseBackup(c: BenchCluster, label: string, extra: string[] = []): Promise<{ seconds: number; storedBytes: number }> {
  const dir = join(c.pg.baseDir, `raw-${label}-${Date.now()}`);
  try {
    const r = await timed(pgTool('pg_basebackup'), [
      '-h',
      c.pg.host,
      '-p',
      String(c.pg.port),
      '-U',
      'postgres',
      '-D',
      dir,
      '-Ft',
      '-X',
      'fetch',
      '--checkpoint=fast',
      `--compress=${BEST_COMPRESSION}`,
      ...extra,
    ]);
    return { seconds: r.ms / 1000, storedBytes: treeBytes(dir) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls a server until it accepts connections and is out of recovery; returns ms waited. */
export async function waitPromoted(port: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      const r = await client.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
      if (!r.rows[0]!.rec) return;
    } catch {
      // Not up yet.
    } finally {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`server on port ${port} not promoted after ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

/** pg_ctl start a restored data directory (as postgres) and remember it for cleanup. */
export async function startRestored(dataDir: string, logFile: string): Promise<void> {
  trackRestoredDir(dataDir);
  await timed(pgTool('pg_ctl'), ['-D', dataDir, '-l', logFile, 'start'], { asPostgres: true, timeoutMs: 120_000 });
}

export async function queryPort<T extends pg.QueryResultRow>(port: number, db: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: db });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function makeRestoreDir(parent: string, name: string): Promise<string> {
  const dir = join(parent, name);
  await rm(dir, { recursive: true, force: true });
  await mkdirForPostgres(dir, 0o700);
  return dir;
}
