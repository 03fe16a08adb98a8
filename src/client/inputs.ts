// Everything a caller hands the client is validated here, before any SQL runs.
import { z } from 'zod';
import { BackupExecutionStorageType } from '../generated/schemas.js';
import type { BackupProgress } from './types.js';

/** A backup is named by its hash key (64 hex digits, `\x` allowed) or its business key. */
export const BackupId = z
  .string()
  .trim()
  .refine((s) => /^(\\x)?[0-9a-fA-F]{64}$/.test(s) || /^[A-Za-z][A-Za-z_0-9]*_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$/.test(s), {
    message: 'a backup id is the hex hash key (64 hex digits) or the business key (e.g. FULL_BACKUP_SYSTEM_20260101_020000)',
  })
  .transform((s) => (/^(\\x)?[0-9a-fA-F]{64}$/.test(s) ? s.replace(/^\\x/, '').toLowerCase() : s.toUpperCase()));

export const CreateFullBackupOptions = z
  .object({
    /** NULL/undefined: the configured repository. Must lie inside a configured repository root. */
    location: z
      .string()
      .min(1)
      .refine((p) => p.startsWith('/') && !p.includes('\0'), 'the backup location must be an absolute path')
      .nullish(),
    storageType: BackupExecutionStorageType.optional(),
    compression: z.boolean().optional(),
    verify: z.boolean().optional(),
  })
  .strict()
  .default({});
export type CreateFullBackupOptions = z.input<typeof CreateFullBackupOptions>;

export const AwaitOptions = z
  .object({
    timeoutMs: z.number().int().positive().max(7 * 24 * 3600 * 1000).default(3600 * 1000),
    pollMs: z.number().int().min(50).max(60_000).default(500),
    onProgress: z.custom<(p: BackupProgress) => void>((v) => typeof v === 'function').optional(),
  })
  .strict()
  .default({ timeoutMs: 3600 * 1000, pollMs: 500 });
export type AwaitOptions = z.input<typeof AwaitOptions>;

export const ListOptions = z
  .object({ limit: z.number().int().positive().max(100_000).default(100) })
  .strict()
  .default({ limit: 100 });
export type ListOptions = z.input<typeof ListOptions>;

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
