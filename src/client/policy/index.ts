// Backup policy as code: the typed file format and plan/apply.
export { BackupPolicyError, defineBackupPolicy, parseBackupPolicy, policyPath } from './define.js';
export { applyBackupPolicy, planBackupPolicy, type PolicyAction, type PolicyChange, type PolicyQueryable } from './run.js';
export {
  BackupPolicySchema,
  SCHEDULE_TYPES,
  type BackupPolicy,
  type BackupPolicyHealthSettings,
  type BackupPolicyRetentionSettings,
  type BackupPolicySchedule,
  type BackupPolicyScheduleType,
} from './schema.js';
