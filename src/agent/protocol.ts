// The agent's side of src/agent/PROTOCOL.md as zod schemas: what a claimed
// job and its plan look like, and what the agent reports back. A plan that
// does not parse is a bug on one side of the contract; the job fails with
// the schema's complaint instead of the agent guessing.
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** int8 columns arrive from node-postgres as strings. */
const int8 = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform((v) => Number(v));

const hex = z.string().regex(/^[0-9a-f]+$/i, 'expected hex');

/**
 * The characters SQL's _normalize_path allows in a path: none that a shell,
 * a quoting rule or an option parser gives a meaning.
 */
export const SAFE_PATH = /^\/[A-Za-z0-9/._+@=-]*$/;

/**
 * Absolute, already normalized and in the safe character set, checked again
 * here (after SQL): a plan must not smuggle `..`, a shell metacharacter or an
 * option-like component into a path.
 */
export const absolutePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => isAbsolute(p) && SAFE_PATH.test(p) && !p.split('/').some((s) => s === '.' || s === '..' || s.startsWith('-')), {
    message: 'must be an absolute path of A-Z a-z 0-9 / . _ - + @ = without . or .. segments or a component starting with -',
  });

export const JobRow = z.object({
  job_id: int8,
  job_type: z.enum(['BACKUP', 'VERIFY', 'RESTORE', 'DELETE']),
  plan: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
});
export type JobRow = z.infer<typeof JobRow>;

export const FullBackupPlan = z.object({
  kind: z.literal('full'),
  backup_hk: hex,
  backup_bk: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'backup key must be a safe directory name'),
  label: z.string().min(1).max(1000),
  repository_root: absolutePath,
  // Disabled compression comes with null method/level/workers.
  compression: z.object({
    enabled: z.boolean(),
    // Verification reads zstd or uncompressed tar only; nothing else may be stored.
    method: z.enum(['server-zstd', 'client-zstd']).nullish(),
    level: z.number().int().min(-7).max(22).nullish(),
    workers: z.number().int().min(0).max(256).nullish(),
  }),
  checkpoint: z.enum(['fast', 'spread']).default('fast'),
  manifest_checksums: z.enum(['SHA256', 'SHA224', 'SHA384', 'SHA512', 'CRC32C', 'NONE']).default('SHA256'),
  // -X fetch keeps the backup self-contained inside base.tar; that is what verification expects.
  wal_method: z.literal('fetch').default('fetch'),
  verify: z.boolean().default(true),
  /** pg_basebackup --max-rate, e.g. 32768 (kB/s) or "10M". */
  max_rate: z.union([z.number().int().positive(), z.string().regex(/^[0-9]+[kM]?$/)]).nullish(),
});
export type FullBackupPlan = z.infer<typeof FullBackupPlan>;

export const VerifyPlan = z.object({
  kind: z.literal('verify'),
  backup_hk: hex,
  repository_path: absolutePath,
});
export type VerifyPlan = z.infer<typeof VerifyPlan>;

const lsn = z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'expected an LSN X/X');
const segmentName = z.string().regex(/^[0-9A-F]{24}$/, 'expected a WAL segment name');
const sysid = z.string().regex(/^[0-9]{1,20}$/, 'expected a system identifier');
const backupBk = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'backup key must be a safe directory name');

/** BACKUP job, kind incremental (PROTOCOL.md "BACKUP job (incremental)"). */
export const IncrementalBackupPlan = z.object({
  kind: z.literal('incremental'),
  // Only WAL-range incrementals exist before PostgreSQL 17.
  method: z.literal('WAL_ARCHIVE'),
  backup_hk: hex,
  backup_bk: backupBk,
  parent_backup_hk: hex,
  parent_backup_bk: z.string(),
  chain_full_backup_hk: hex,
  chain_start_lsn: lsn,
  range_start_lsn: lsn,
  timeline_id: z.number().int().min(1),
  system_identifier: sysid,
  repository_root: absolutePath,
  wal_segment_size: z.number().int().positive(),
  verify: z.boolean().default(true),
});
export type IncrementalBackupPlan = z.infer<typeof IncrementalBackupPlan>;

/** complete_job result of an incremental backup. */
export interface IncrementalBackupResult {
  stop_lsn: string;
  stop_wal_file: string;
  stop_time: string;
  next_xid: string;
  changes_captured: number;
  wal_files_checked: number;
  started_at: string;
  ended_at: string;
  pg_version: string;
  pg_version_num: number;
  repository_path: string;
  verification: Verification;
}

const restoreSettingValue = z.union([z.string(), z.boolean()]);

/** RESTORE job (PROTOCOL.md "RESTORE job"): the recovery plan plus what running it needs. */
export const RestorePlan = z.object({
  kind: z.literal('restore'),
  recovery_hk: hex,
  recovery_bk: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'recovery key must be a safe directory name'),
  restore_directory: absolutePath,
  drill: z.boolean(),
  keep_running: z.boolean(),
  validation: z.object({ compare_table_counts: z.boolean().default(true) }).default({ compare_table_counts: true }),
  base: z.object({
    backup_hk: hex,
    backup_bk: backupBk,
    repository_root: absolutePath.nullish(),
    repository_path: absolutePath,
    system_identifier: sysid,
    timeline_id: z.number().int().min(1),
    start_lsn: lsn,
    stop_lsn: lsn,
    verification_status: z.string().nullish(),
    /** What the backup job stored, with the SHA-256 of each file (backup_storage_s.stored_files). */
    stored_files: z.array(z.object({ name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).passthrough()).nullish(),
  }),
  wal: z
    .object({ timeline_id: z.number().int(), from_segment: segmentName, to_segment: segmentName, segments: z.number().int(), bytes: z.number() })
    .partial()
    .optional(),
  target: z.object({
    kind: z.enum(['time', 'xid', 'lsn', 'name', 'immediate', 'latest']),
    value: z.string().nullish(),
    time: z.string().nullish(),
    lsn: lsn.nullish(),
    xid: z.string().regex(/^[0-9]+$/).nullish(),
    restore_point: z.object({ name: z.string(), lsn }).partial().nullish(),
  }),
  // Setting names are written into postgresql.auto.conf: only recovery_* may come from a plan.
  restore_settings: z.record(z.string().regex(/^recovery_target(_[a-z]+)?$/, 'only recovery_target* settings'), restoreSettingValue),
  estimate: z.object({ bytes: z.number().nullish(), minutes: z.number().nullish() }).partial().nullish(),
});
export type RestorePlan = z.infer<typeof RestorePlan>;

export type ValidationStatus = 'PASSED' | 'FAILED' | 'PARTIAL';

/** complete_job result of a RESTORE job. */
export interface RestoreResult {
  restore_directory: string;
  restore_port: number | null;
  recovery_end_time: string;
  recovery_duration_seconds: number;
  reached: { lsn: string | null; time: string | null };
  validation: {
    status: ValidationStatus;
    records_recovered: number;
    data_size_recovered: number;
    detail: string;
    success_rate: number;
    databases?: { name: string; tables: number; rows: number; bytes: number; error?: string }[];
    checks?: { name: string; ok: boolean; detail: string }[];
  };
  kept_running: boolean;
  /** Beyond the protocol's required fields: where an operator connects, and what it took. */
  socket_directory?: string | null;
  log_file?: string;
  phases_seconds?: Record<string, number>;
  /** WAL segments the agent decompressed and checked ahead of replay (restore_command only moved them). */
  wal_segments_read_ahead?: number;
}

export type VerificationStatus = 'VERIFIED' | 'FAILED' | 'SKIPPED';

export interface Verification {
  status: VerificationStatus;
  detail: string;
  verified_at: string;
}

export interface StoredFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** complete_job result of a full backup, field for field as PROTOCOL.md lists it. */
export interface FullBackupResult {
  repository_path: string;
  system_identifier: string;
  backup_size_bytes: number;
  compressed_size_bytes: number;
  start_lsn: string;
  stop_lsn: string;
  timeline_id: number;
  start_wal_file: string;
  stop_wal_file: string;
  start_time: string;
  stop_time: string;
  pg_version: string;
  pg_version_num: number;
  /** pg_snapshot_xmax(pg_current_snapshot()) right after pg_basebackup returned: bounds xid targets. */
  next_xid: string;
  manifest_sha256: string;
  stored_files: StoredFile[];
  started_at: string;
  ended_at: string;
  /** backup_label as the server wrote it (for backup_lsn_s.backup_label). */
  backup_label: string;
  verification: Verification;
}

export interface VerifyJobResult {
  verification: Verification;
}

/** One row of register_wal's p_files. */
export interface WalRegistration {
  file_name: string;
  timeline_id: number;
  start_lsn: string | null;
  bytes: number;
  stored_bytes: number;
  sha256: string;
  archived_at: string;
  /** timestamptz literals from pg_waldump; null without commits (or for history/backup files). */
  first_commit_time: string | null;
  last_commit_time: string | null;
}

/** Parse with a schema; the error names the plan field that is wrong. */
export function parsePlan<T>(schema: z.ZodType<T>, plan: unknown, what: string): T {
  const r = schema.safeParse(plan);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new Error(`invalid ${what} plan: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
