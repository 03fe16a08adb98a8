// defineBackupPolicy(): the typed entry point of a policy file, and the one
// validation every loader (CLI, client) goes through.
import type { z } from 'zod';
import { BackupPolicySchema, type BackupPolicy } from './schema.js';

/** A policy that does not validate: the first problem, with its path in the file. */
export class BackupPolicyError extends Error {
  readonly code = '22023';
  constructor(
    /** Where in the file, e.g. schedules[1].cron ('' for the whole document). */
    readonly path: string,
    readonly reason: string,
  ) {
    super(path ? `${path}: ${reason}` : reason);
    this.name = 'BackupPolicyError';
  }
}

/** ['schedules', 1, 'cron'] -> 'schedules[1].cron' (the form the database's errors use too). */
export function policyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

function firstIssue(error: z.ZodError): BackupPolicyError {
  const issue = error.issues[0]!;
  // An unknown key is reported on its parent by zod; name the key itself.
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = keys.length ? [...issue.path, keys[0]!] : issue.path;
  return new BackupPolicyError(policyPath(path), keys.length ? 'unknown field' : issue.message);
}

/** Validates a policy; throws BackupPolicyError naming the first bad field. */
export function parseBackupPolicy(value: unknown): BackupPolicy {
  const parsed = BackupPolicySchema.safeParse(value);
  if (!parsed.success) throw firstIssue(parsed.error);
  return parsed.data as BackupPolicy;
}

/**
 * Declares a backup policy: schedules, retention and health settings. Typed
 * for the editor and validated now, so a mistake fails when the file loads.
 * `backup-mgmt policy plan|apply FILE` and planBackupPolicy/applyBackupPolicy
 * take what it returns.
 */
// Not generic on purpose: a plain parameter type keeps TypeScript's excess
// property check, so a misspelt field is a compile error.
export function defineBackupPolicy(policy: BackupPolicy): BackupPolicy {
  parseBackupPolicy(policy);
  return policy;
}
