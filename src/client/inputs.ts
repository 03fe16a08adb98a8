// Everything a caller hands the client is validated here, before any SQL runs.
import { z } from 'zod';
import { BackupExecutionStorageType } from '../generated/schemas.js';
import type { BackupProgress, RecoveryProgress, TargetKind } from './types.js';

/** A backup is named by its hash key (64 hex digits, `\x` allowed) or its business key. */
export const BackupId = z
  .string()
  .trim()
  .refine((s) => /^(\\x)?[0-9a-fA-F]{64}$/.test(s) || /^[A-Za-z][A-Za-z_0-9]*_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$/.test(s), {
    message: 'a backup id is the hex hash key (64 hex digits) or the business key (e.g. FULL_BACKUP_SYSTEM_20260101_020000)',
  })
  .transform((s) => (/^(\\x)?[0-9a-fA-F]{64}$/.test(s) ? s.replace(/^\\x/, '').toLowerCase() : s.toUpperCase()));

/** Must lie inside a configured repository root (checked in SQL); here: absolute. */
const backupLocation = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'the backup location must be an absolute path');

export const CreateFullBackupOptions = z
  .object({
    /** NULL/undefined: the configured repository. Must lie inside a configured repository root. */
    location: backupLocation.nullish(),
    storageType: BackupExecutionStorageType.optional(),
    compression: z.boolean().optional(),
    verify: z.boolean().optional(),
  })
  .strict()
  .default({});
export type CreateFullBackupOptions = z.input<typeof CreateFullBackupOptions>;

/** Options of awaitBackup and awaitRecovery; P is what onProgress receives. */
const awaitOptions = <P>() =>
  z
    .object({
      timeoutMs: z.number().int().positive().max(7 * 24 * 3600 * 1000).default(3600 * 1000),
      pollMs: z.number().int().min(50).max(60_000).default(500),
      onProgress: z.custom<(p: P) => void>((v) => typeof v === 'function').optional(),
    })
    .strict()
    .default({ timeoutMs: 3600 * 1000, pollMs: 500 });

export const AwaitOptions = awaitOptions<BackupProgress>();
export type AwaitOptions = z.input<typeof AwaitOptions>;

/** How many rows a list returns at most. */
const limit = z.number().int().positive().max(100_000).default(100);

export const ListOptions = z
  .object({ limit })
  .strict()
  .default({ limit: 100 });
export type ListOptions = z.input<typeof ListOptions>;

// ---------------------------------------------------------------- recovery

/** A recovery is named by its hash key or its business key (RECOVERY_POINT_IN_TIME_…, RECOVERY_RESTORE_DRILL_…). */
export const RecoveryId = z
  .string()
  .trim()
  .refine((s) => /^(\\x)?[0-9a-fA-F]{64}$/.test(s) || /^RECOVERY_[A-Za-z_0-9]+_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$/i.test(s), {
    message: 'a recovery id is the hex hash key (64 hex digits) or the business key (e.g. RECOVERY_POINT_IN_TIME_20260101_020000_123456)',
  })
  .transform((s) => (/^(\\x)?[0-9a-fA-F]{64}$/.test(s) ? s.replace(/^\\x/, '').toLowerCase() : s.toUpperCase()));

const ISO_WITH_ZONE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?(\.\d{1,6})?\s*(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** Whether an ISO 8601 text with zone names a real instant (2026-02-30 does not). */
function validIsoTime(s: string): boolean {
  const m = ISO_WITH_ZONE.exec(s);
  if (!m) return false;
  const zone = m[5]!.toUpperCase() === 'Z' ? 'Z' : m[5]!.length === 3 ? `${m[5]}:00` : m[5]!.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const date = new Date(`${m[1]}T${m[2]}${m[3] ?? ':00'}${(m[4] ?? '').slice(0, 4)}${zone}`);
  // Round-tripping the day catches dates JavaScript would roll over (Feb 30 → Mar 2).
  return !Number.isNaN(date.getTime()) && new Date(`${m[1]}T00:00:00Z`).toISOString().startsWith(m[1]!);
}

/** ISO 8601 with an explicit zone: a time without one would mean the server's zone, silently. */
export const TargetTime = z.union([
  z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid Date').transform((d) => d.toISOString()),
  z
    .string()
    .trim()
    .refine(validIsoTime, 'a target time is ISO 8601 with a zone, e.g. 2026-11-22T01:02:03.123456Z or 2026-11-22 01:02:03+01'),
]);

export const Lsn = z.string().trim().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'an LSN is two hex numbers X/X, e.g. 0/5000028').transform((s) => s.toUpperCase());

export const Xid = z
  .union([z.string().trim(), z.number().int(), z.bigint()])
  .transform((v) => String(v))
  .refine((s) => /^[0-9]{1,19}$/.test(s) && BigInt(s) >= 3n, 'a transaction id is a decimal number of at least 3');

export const RestorePointName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/, 'a restore point name has 1 to 63 characters: a letter or digit, then letters, digits, _ . : or -');

/** Exactly one target; immediate may name the backup whose end it is. */
export const RecoveryTarget = z
  .union([
    z.object({ time: TargetTime }).strict(),
    z.object({ xid: Xid }).strict(),
    z.object({ lsn: Lsn }).strict(),
    z.object({ name: RestorePointName }).strict(),
    z.object({ latest: z.literal(true) }).strict(),
    z.object({ immediate: z.union([z.literal(true), BackupId]) }).strict(),
  ])
  .transform((t): { kind: TargetKind; value: string | null } => {
    if ('time' in t) return { kind: 'time', value: t.time };
    if ('xid' in t) return { kind: 'xid', value: t.xid };
    if ('lsn' in t) return { kind: 'lsn', value: t.lsn };
    if ('name' in t) return { kind: 'name', value: t.name };
    if ('latest' in t) return { kind: 'latest', value: null };
    return { kind: 'immediate', value: t.immediate === true ? null : t.immediate };
  });
export type RecoveryTarget = z.input<typeof RecoveryTarget>;

const absoluteDir = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') && !p.includes('\0') && !p.split('/').includes('..'), 'must be an absolute path without ..');

export const InitiateRecoveryOptions = z
  .object({
    target: RecoveryTarget,
    /** Default: <restore root>/<recovery key>. A new directory inside a restore root. */
    restoreDirectory: absoluteDir.optional(),
    /** false only for members of backup_mgmt_admin; default true (a second person approves). */
    approvalRequired: z.boolean().optional(),
    /** Restore from this full backup instead of the planner's choice. */
    backupId: BackupId.optional(),
  })
  .strict();
export type InitiateRecoveryOptions = z.input<typeof InitiateRecoveryOptions>;

export const PlanRecoveryOptions = z.object({ target: RecoveryTarget, backupId: BackupId.optional() }).strict();
export type PlanRecoveryOptions = z.input<typeof PlanRecoveryOptions>;

export const CreateIncrementalBackupOptions = z
  .object({
    /** The parent: a verified full or incremental backup; default the latest valid chain. */
    base: BackupId.optional(),
    location: backupLocation.optional(),
  })
  .strict()
  .default({});
export type CreateIncrementalBackupOptions = z.input<typeof CreateIncrementalBackupOptions>;

export const Comment = z.string().trim().min(1, 'the comment must not be empty').max(2000);

export const AwaitRecoveryOptions = awaitOptions<RecoveryProgress>();
export type AwaitRecoveryOptions = z.input<typeof AwaitRecoveryOptions>;

export const ListRecoveriesOptions = z
  .object({
    limit,
    /** true: drills only; false: recoveries only; default both. */
    drills: z.boolean().optional(),
    /** true: only recoveries whose restored copy is still left running. */
    copies: z.boolean().optional(),
  })
  .strict()
  .default({ limit: 100 });
export type ListRecoveriesOptions = z.input<typeof ListRecoveriesOptions>;

export function parseOrThrow<T>(schema: z.ZodType<T, any>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new BackupMgmtInputError(`${what}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
}

export class BackupMgmtInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupMgmtInputError';
  }
}
