// Public entry point of the TypeScript client.
export { BackupMgmt, type BackupMgmtConfig } from './backup-mgmt.js';
export { BackupMgmtInputError, BackupNotFoundError, BackupTimeoutError, RecoveryNotFoundError, RecoveryTimeoutError } from './errors.js';
export type {
  AwaitOptions,
  AwaitRecoveryOptions,
  CreateFullBackupOptions,
  CreateIncrementalBackupOptions,
  InitiateRecoveryOptions,
  ListOptions,
  ListRecoveriesOptions,
  PlanRecoveryOptions,
  RecoveryTarget,
} from './inputs.js';
export {
  FINAL_BACKUP_STATUSES,
  FINAL_RECOVERY_STATUSES,
  isRecoveryFinal,
  isSettled,
  progressOf,
  recoveryProgressOf,
  type RecoverabilityRow,
  type RecoveryListRow,
  type RecoveryPlan,
  type RecoveryProgress,
  type RecoveryStatus,
  type RestorePointRow,
  type TargetKind,
  type ValidationStatus,
  type BackupListRow,
  type BackupProgress,
  type BackupStatus,
  type ClientDatabase,
  type JobType,
  type VerificationStatus,
} from './types.js';
export * from './policy/index.js';
