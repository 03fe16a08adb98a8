// Shared by the SQL tests: one throwaway cluster per test file, a fresh
// database with the pack installed per test (cloned from the harness's
// template), and small helpers that play the agent's side of
// src/agent/PROTOCOL.md by calling the SQL functions directly.
import type { CreateClusterOptions } from '../harness/cluster.js';
import { ClusterDb, useClusterDbs } from '../harness/pack-db.js';
export { sqlError, sqlState } from '../harness/sql-errors.js';

export const REPO = '/var/lib/backup-mgmt-test/repo';
export const SYSID = '7312345678901234567';

export interface Job {
  job_id: string;
  job_type: string;
  subject_hk: Buffer;
  plan: Plan;
  status: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  locked_by: string | null;
  lease_expires_at: Date | null;
  last_error: string | null;
}

export interface Plan {
  kind: string;
  backup_hk: string;
  backup_bk: string;
  label: string;
  repository_root: string;
  repository_path?: string;
  compression: { enabled: boolean; method: string | null; level: number | null; workers: number | null };
  checkpoint: string;
  manifest_checksums: string;
  wal_method: string;
  verify: boolean;
  max_rate: string | null;
}

export interface BackupRow {
  backup_id: Buffer;
  backup_status: string;
  backup_size_bytes: string | null;
  duration_seconds: string | null;
  verification_status: string | null;
  error_message: string | null;
}

/** A database of its own with the pack installed, and the clients opened on it. */
export class TestDb extends ClusterDb {
  // --- the agent's side of the protocol ---------------------------------

  async registerAgent(agentId = 'agent-1', root = REPO, info: Record<string, unknown> = { cpu_count: 2 }): Promise<void> {
    await this.q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', [agentId, 'test-host', 4242, root, null, info]);
  }

  async claim(agentId = 'agent-1', types: string[] | null = null): Promise<Job | undefined> {
    const rows = await this.q<Job>('SELECT * FROM backup_mgmt.claim_job($1, $2)', [agentId, types]);
    return rows[0];
  }

  async progress(job: Job, agentId = 'agent-1', done = 1, total = 2, phase = 'streaming'): Promise<boolean> {
    const r = await this.one<{ ok: boolean }>('SELECT backup_mgmt.job_progress($1, $2, $3, $4, $5) AS ok', [job.job_id, agentId, done, total, phase]);
    return r.ok;
  }

  async complete(job: Job, result: object, agentId = 'agent-1'): Promise<void> {
    await this.q('SELECT backup_mgmt.complete_job($1, $2, $3)', [job.job_id, agentId, JSON.stringify(result)]);
  }

  async fail(job: Job, error: string, retryable = false, agentId = 'agent-1'): Promise<void> {
    await this.q('SELECT backup_mgmt.fail_job($1, $2, $3, $4)', [job.job_id, agentId, error, retryable]);
  }

  // --- the user's side ---------------------------------------------------

  async createFullBackup(args: { location?: string | null; compress?: boolean; verify?: boolean } = {}): Promise<BackupRow> {
    return this.one<BackupRow>('SELECT * FROM backup_mgmt.create_full_backup(NULL, $1, $2, $3, $4)', [
      args.location ?? null,
      'LOCAL',
      args.compress ?? true,
      args.verify ?? true,
    ]);
  }

  async current(hk: Buffer): Promise<Record<string, unknown>> {
    return this.one('SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
  }

  async history(hk: Buffer): Promise<Record<string, unknown>[]> {
    return this.q('SELECT * FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date', [hk]);
  }

  async jobFor(hk: Buffer, type = 'BACKUP'): Promise<Job> {
    return this.one<Job>('SELECT * FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = $2 ORDER BY job_id DESC LIMIT 1', [hk, type]);
  }

  /** Row counts of everything a request could write. */
  counts(): Promise<Record<string, number>> {
    return this.rowCounts({
      hubs: 'backup_execution_h', execution_versions: 'backup_execution_s', lsn_versions: 'backup_lsn_s', storage_versions: 'backup_storage_s',
      jobs: 'job', settings: 'setting', agents: 'agent', wal_files: 'wal_archive',
    });
  }
}

/** A result as the agent reports it for a full backup (PROTOCOL.md), derived from the plan. */
export function fullBackupResult(plan: Plan, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const ended = new Date();
  const started = new Date(ended.getTime() - 4_250);
  const files = [
    { name: 'base.tar.zst', bytes: 2_495_000, sha256: 'b'.repeat(64) },
    { name: 'backup_manifest', bytes: 5_000, sha256: 'c'.repeat(64) },
  ];
  return {
    repository_path: `${plan.repository_root}/${SYSID}/backups/${plan.backup_bk}`,
    system_identifier: SYSID,
    backup_size_bytes: 10_000_000,
    compressed_size_bytes: 2_500_000,
    start_lsn: '0/2000028',
    stop_lsn: '0/2000138',
    timeline_id: 1,
    start_wal_file: '000000010000000000000002',
    stop_wal_file: '000000010000000000000002',
    start_time: started.toISOString(),
    stop_time: ended.toISOString(),
    pg_version: 'PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu',
    pg_version_num: 150018,
    manifest_sha256: 'a'.repeat(64),
    stored_files: files,
    started_at: started.toISOString(),
    ended_at: ended.toISOString(),
    backup_label: `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: ${started.toISOString()}\nLABEL: ${plan.label}\nSTART TIMELINE: 1\n`,
    verification: plan.verify
      ? { status: 'VERIFIED', detail: 'all 1001 files match the manifest; WAL 000000010000000000000002 parses', verified_at: ended.toISOString() }
      : { status: 'SKIPPED', detail: 'not requested', verified_at: ended.toISOString() },
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One cluster for the test file; freshDb() hands each test a database of its
 * own with the pack installed. Databases and clients are closed after the file.
 */
export function usePack(opts: CreateClusterOptions = {}) {
  return useClusterDbs({ name: 'sql', ...opts }, 't', (c, name) => new TestDb(c, name));
}
