// Row types of what the client reads. backup_list (a hand-written view, see
// src/agent/PROTOCOL.md) joins the generated current-row views and the job
// queue, so its type is assembled from the generated ones.
import type { Database, BackupExecutionCurrent, BackupLsnCurrent, BackupStorageCurrent } from '../generated/database.js';

export type BackupStatus = BackupExecutionCurrent['backup_status'];
export type VerificationStatus = NonNullable<BackupExecutionCurrent['verification_status']>;
export type JobType = 'BACKUP' | 'VERIFY' | 'RESTORE' | 'DELETE';

/** One row of backup_mgmt.backup_list; int8 and numeric columns arrive as strings. */
export type BackupListRow = Pick<
  BackupExecutionCurrent,
  | 'backup_hk'
  | 'backup_bk'
  | 'tenant_hk'
  | 'backup_type'
  | 'backup_scope'
  | 'backup_method'
  | 'backup_status'
  | 'verification_status'
  | 'verification_date'
  | 'verification_detail'
  | 'requested_at'
  | 'backup_start_time'
  | 'backup_end_time'
  | 'backup_duration_seconds'
  | 'backup_size_bytes'
  | 'compressed_size_bytes'
  | 'compression_ratio'
  | 'compression_algorithm'
  | 'backup_location'
  | 'expiration_date'
  | 'error_message'
  | 'initiated_by'
  | 'retry_count'
  | 'max_retries'
> &
  Pick<BackupStorageCurrent, 'repository_path' | 'files_present'> &
  Pick<BackupLsnCurrent, 'start_lsn' | 'stop_lsn' | 'timeline_id' | 'start_wal_file' | 'stop_wal_file' | 'system_identifier'> & {
    /** The job an agent is running for the backup right now (backup or re-verification), if any. */
    job_id: string | null;
    job_type: JobType | null;
    agent_id: string | null;
    progress_done: string | null;
    progress_total: string | null;
    progress_phase: string | null;
  };

/** The generated catalog plus the hand-written views the client reads. */
export interface ClientDatabase extends Database {
  'backup_mgmt.backup_list': BackupListRow;
}

export const FINAL_BACKUP_STATUSES: readonly BackupStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'PARTIAL', 'EXPIRED'];

/**
 * Settled: the backup reached an end state and, if it holds data, its
 * verification is not pending (the same rule as await_backup in SQL).
 */
export function isSettled(row: Pick<BackupListRow, 'backup_status' | 'verification_status'>): boolean {
  if (!FINAL_BACKUP_STATUSES.includes(row.backup_status)) return false;
  return !(row.backup_status === 'COMPLETED' || row.backup_status === 'PARTIAL') || row.verification_status !== 'PENDING';
}

export interface BackupProgress {
  backupBk: string;
  status: BackupStatus;
  phase: string | null;
  doneBytes: number | null;
  totalBytes: number | null;
  /** 0..100 when both are known. */
  percent: number | null;
  row: BackupListRow;
}

export function progressOf(row: BackupListRow): BackupProgress {
  const done = row.progress_done === null ? null : Number(row.progress_done);
  const total = row.progress_total === null ? null : Number(row.progress_total);
  const percent = done !== null && total !== null && total > 0 ? Math.min(100, Math.round((done / total) * 1000) / 10) : null;
  const phase = row.job_id !== null ? row.progress_phase ?? 'starting' : row.backup_status === 'PENDING' || row.verification_status === 'PENDING' ? 'queued' : null;
  return {
    backupBk: row.backup_bk,
    status: row.backup_status,
    phase,
    doneBytes: done,
    totalBytes: total,
    percent,
    row,
  };
}
