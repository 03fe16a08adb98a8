// Row types of what the client reads. backup_list (a hand-written view, see
// src/agent/PROTOCOL.md) joins the generated current-row views and the job
// queue, so its type is assembled from the generated ones.
import type { JobType } from '../generated/job-types.js';
import type { Database, BackupExecutionCurrent, BackupLsnCurrent, BackupStorageCurrent, RecoveryOperationCurrent } from '../generated/database.js';

export type BackupStatus = BackupExecutionCurrent['backup_status'];
export type VerificationStatus = NonNullable<BackupExecutionCurrent['verification_status']>;
/** Generated from codegen/protocol.ts. */
export type { JobType };

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
  'backup_mgmt.recovery_list': RecoveryListRow;
  'backup_mgmt.recoverability': RecoverabilityRow;
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
  /** The verification's state; the whole row is awaitBackup's result. */
  verificationStatus: VerificationStatus | null;
}

/** The job's progress counters as numbers, and the percentage (0..100, one decimal) when both are known. */
function counters(row: { progress_done: string | null; progress_total: string | null }) {
  const done = row.progress_done === null ? null : Number(row.progress_done);
  const total = row.progress_total === null ? null : Number(row.progress_total);
  const percent = done !== null && total !== null && total > 0 ? Math.min(100, Math.round((done / total) * 1000) / 10) : null;
  return { done, total, percent };
}

export function progressOf(row: BackupListRow): BackupProgress {
  const { done, total, percent } = counters(row);
  const phase = row.job_id !== null ? row.progress_phase ?? 'starting' : row.backup_status === 'PENDING' || row.verification_status === 'PENDING' ? 'queued' : null;
  return {
    backupBk: row.backup_bk,
    status: row.backup_status,
    phase,
    doneBytes: done,
    totalBytes: total,
    percent,
    verificationStatus: row.verification_status,
  };
}

// ---------------------------------------------------------------- recovery

export type RecoveryStatus = RecoveryOperationCurrent['recovery_status'];
export type ValidationStatus = NonNullable<RecoveryOperationCurrent['validation_status']>;
export type TargetKind = NonNullable<RecoveryOperationCurrent['target_kind']>;

/** One row of backup_mgmt.recovery_list (sql/30-recovery/20-views/recovery_list.sql). */
export type RecoveryListRow = Pick<
  RecoveryOperationCurrent,
  | 'recovery_hk'
  | 'recovery_bk'
  | 'tenant_hk'
  | 'recovery_type'
  | 'recovery_status'
  | 'is_drill'
  | 'target_kind'
  | 'target_value'
  | 'target_point_in_time'
  | 'target_lsn'
  | 'recovery_target'
  | 'source_backup_hk'
  | 'approval_required'
  | 'initiated_by'
  | 'approved_by'
  | 'approval_date'
  | 'approval_comment'
  | 'recovery_start_time'
  | 'recovery_end_time'
  | 'recovery_duration_seconds'
  | 'validation_status'
  | 'records_recovered'
  | 'data_size_recovered'
  | 'restore_directory'
  | 'restore_port'
  | 'error_message'
  | 'error_code'
> & {
  source_backup_bk: string | null;
  estimated_duration_minutes: number | null;
  requested_at: Date;
  reached_lsn: string | null;
  reached_time: string | null;
  kept_running: boolean | null;
  job_id: string | null;
  job_status: string | null;
  agent_id: string | null;
  progress_done: string | null;
  progress_total: string | null;
  progress_phase: string | null;
  plan: RecoveryPlan | null;
  /** Socket directory of a restored copy left running (connect with psql -h <it> -p restore_port). */
  socket_directory: string | null;
};

/** plan_recovery()'s answer (PROTOCOL.md "RESTORE job", without the job's additions). */
export interface RecoveryPlan {
  version: number;
  planned_at: string;
  base: {
    backup_hk: string;
    backup_bk: string;
    repository_root: string | null;
    repository_path: string;
    system_identifier: string;
    timeline_id: number;
    start_lsn: string;
    stop_lsn: string;
    stop_time: string;
    verification_status: string;
    backup_size_bytes: number | null;
  };
  chain: string[];
  wal: { timeline_id: number; from_segment: string; to_segment: string; segments: number; bytes: number };
  target: { kind: TargetKind; value: string | null; inclusive: boolean; action: string; time?: string; lsn?: string; xid?: string; restore_point?: { name: string; lsn: string; timeline: number; created_at: string } };
  restore_settings: Record<string, string | boolean>;
  estimate: { bytes: number; throughput_bytes_per_second: number; basis: string; minutes: number };
  warnings: string[];
}

/** One row of backup_mgmt.recoverability / recoverable_window(). */
export interface RecoverabilityRow {
  system_identifier: string;
  timeline_id: number;
  earliest_recoverable_time: Date | null;
  earliest_recoverable_lsn: string | null;
  earliest_backup_bk: string | null;
  latest_recoverable_time: Date | null;
  latest_recoverable_lsn: string | null;
  wal_gaps: string[];
  missing_segments: string;
  oldest_needed_segment: string | null;
  newest_segment: string | null;
  newest_archived_at: Date | null;
  rpo_seconds: string | null;
  windows: { base_backup_bk: string; from_time: string | null; to_time: string | null; from_lsn: string; to_lsn: string; to_segment: string }[];
}

export interface RestorePointRow {
  name: string;
  lsn: string;
  created_at: Date;
  created_by: string;
}

export const FINAL_RECOVERY_STATUSES: readonly RecoveryStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED'];

export function isRecoveryFinal(row: Pick<RecoveryListRow, 'recovery_status'>): boolean {
  return FINAL_RECOVERY_STATUSES.includes(row.recovery_status);
}

export interface RecoveryProgress {
  recoveryBk: string;
  status: RecoveryStatus;
  /** The agent's phase (restoring, replaying, validating …), 'awaiting approval' or 'queued'. */
  phase: string | null;
  done: number | null;
  total: number | null;
  percent: number | null;
}

export function recoveryProgressOf(row: RecoveryListRow): RecoveryProgress {
  const { done, total, percent } = counters(row);
  const phase =
    row.recovery_status === 'RUNNING'
      ? row.progress_phase ?? 'starting'
      : row.recovery_status === 'PENDING'
        ? 'awaiting approval'
        : row.recovery_status === 'APPROVED'
          ? 'queued'
          : null;
  return { recoveryBk: row.recovery_bk, status: row.recovery_status, phase, done, total, percent };
}
