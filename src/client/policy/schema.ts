// The policy file's shape, in zod: the same JSON document policy_plan() and
// policy_apply() read in SQL. Keys are snake_case because the settings are:
// retention.min_redundancy in the file is the setting retention.min_redundancy.
// The database checks everything again with the validators the schedule and
// setting functions use (e.g. the full cron grammar); these checks catch what
// can be caught before connecting, with the same paths.
import { z } from 'zod';

/** An interval as PostgreSQL reads it ('30 days', '6 hours'); never negative. */
const Interval = z
  .string()
  .trim()
  .min(1, 'must be an interval such as "30 days"')
  .max(100)
  .refine((s) => !/(^|[\s@])-|\bago\b/i.test(s), 'must not be negative');

/** A size as pg_size_bytes() reads it: 512MB, 1GB. */
const Size = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(bytes|B|kB|MB|GB|TB|PB)$/i, 'must be a size such as 512MB or 1GB');

const TimeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM');
const Count = (min: number, max: number) => z.number().int().min(min).max(max);
const Decimal = (min: number, max: number) =>
  z.number().min(min).max(max).refine((n) => Number.isInteger(n * 100), 'at most two decimals');

export const SCHEDULE_TYPES = ['FULL', 'INCREMENTAL', 'CLEANUP', 'HEALTH_CHECK', 'VERIFY', 'DRILL'] as const;

const CRON_ALIAS = /^@(hourly|daily|midnight|weekly|monthly|yearly|annually)$/i;

export const PolicySchedule = z.strictObject({
  /** ^[a-z0-9][a-z0-9_-]{0,62}$, case-insensitive (stored lower-case). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$ (e.g. nightly-full)'),
  type: z.enum(SCHEDULE_TYPES),
  /** Five fields (minute hour day-of-month month day-of-week) or an @alias, as pg_cron reads them. */
  cron: z
    .string()
    .trim()
    .refine((s) => CRON_ALIAS.test(s) || s.split(/\s+/).length === 5, 'must be a five-field cron expression or @hourly, @daily, @weekly, @monthly, @yearly'),
  /** A pg_timezone_names zone in which cron and window are read; default UTC. */
  timezone: z.string().min(1).max(64).optional(),
  /** Runs due outside [start, end) wait for the start; start > end wraps midnight. null/absent: none. */
  window: z.strictObject({ start: TimeOfDay, end: TimeOfDay }).nullable().optional(),
  paused: z.boolean().optional(),
  description: z.string().max(1000).nullable().optional(),
  retention: z
    .strictObject({
      /** Backups of this schedule expire at end + period; default 7 years. */
      period: Interval.optional(),
      /** Keep at least this many verified full backups of this schedule. */
      min_redundancy: Count(1, 1000).nullable().optional(),
      /** PITR must stay possible this far back. */
      recovery_window: Interval.nullable().optional(),
      /** Completed backups beyond the newest N count as expired. */
      max_backup_count: Count(1, 1_000_000).nullable().optional(),
    })
    .optional(),
  /** Stored on the schedule for a notifier; the pack sends nothing itself. */
  notifications: z
    .strictObject({
      on_success: z.boolean().optional(),
      on_failure: z.boolean().optional(),
      recipients: z
        .array(z.string().min(1).max(254).regex(/^\S(.*\S)?$/, 'no leading or trailing blanks'))
        .max(100)
        .refine((r) => new Set(r).size === r.length, 'recipients must not repeat')
        .optional(),
    })
    .optional(),
});

/** The retention.* settings (null: back to the default). */
export const PolicyRetentionSettings = z.strictObject({
  period: Interval.nullable().optional(),
  min_redundancy: Count(1, 1000).nullable().optional(),
  recovery_window: Interval.nullable().optional(),
  keep_daily: Count(0, 100_000).nullable().optional(),
  keep_weekly: Count(0, 100_000).nullable().optional(),
  keep_monthly: Count(0, 100_000).nullable().optional(),
  /** Repository copies: the local repository keeps only the newest N full backups copied off-host (0 = off). */
  local_full_backups: Count(0, 100_000).nullable().optional(),
});

const age = () => Interval.nullable().optional();
/** The health.* thresholds of health_check() (null: back to the default). */
export const PolicyHealthSettings = z.strictObject({
  full_backup_warning_age: age(),
  full_backup_critical_age: age(),
  incremental_backup_warning_age: age(),
  incremental_backup_critical_age: age(),
  schedule_warning_factor: Decimal(1, 100).nullable().optional(),
  schedule_critical_factor: Decimal(1, 100).nullable().optional(),
  failed_backup_window: age(),
  failed_backups_critical: Count(1, 1_000_000).nullable().optional(),
  wal_archive_warning_age: age(),
  wal_archive_critical_age: age(),
  rpo_warning: age(),
  rpo_critical: age(),
  min_recovery_window: age(),
  verification_max_pending: age(),
  verification_failed_window: age(),
  drill_max_age: age(),
  approval_max_wait: age(),
  repository_free_warning_percent: Decimal(0, 100).nullable().optional(),
  repository_free_critical_percent: Decimal(0, 100).nullable().optional(),
  /** Repository copies (sql/65-copies): how long a backup may wait for its off-host copy. */
  copy_warning_age: age(),
  copy_critical_age: age(),
  /** WAL retained by the streaming slot (sql/55-stream). */
  stream_slot_warning_size: Size.nullable().optional(),
  stream_slot_critical_size: Size.nullable().optional(),
});

export const BackupPolicySchema = z
  .strictObject({
    /** The format of this document; 1 is the only one so far. */
    version: z.literal(1).optional(),
    /** true: drop system-wide schedules and reset the retention and health settings the file does not declare. */
    prune: z.boolean().optional(),
    schedules: z.array(PolicySchedule).optional(),
    retention: PolicyRetentionSettings.optional(),
    health: PolicyHealthSettings.optional(),
  })
  .superRefine((policy, ctx) => {
    const seen = new Map<string, number>();
    policy.schedules?.forEach((s, i) => {
      const key = s.name.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['schedules', i, 'name'], message: `duplicate schedule name ${key} (also schedules[${first}])` });
      } else seen.set(key, i);
    });
  });

export type BackupPolicy = z.input<typeof BackupPolicySchema>;
export type BackupPolicySchedule = z.input<typeof PolicySchedule>;
export type BackupPolicyScheduleType = (typeof SCHEDULE_TYPES)[number];
export type BackupPolicyRetentionSettings = z.input<typeof PolicyRetentionSettings>;
export type BackupPolicyHealthSettings = z.input<typeof PolicyHealthSettings>;
