// Public entry point of the TypeScript client.
export { BackupMgmt, type BackupMgmtConfig } from './backup-mgmt.js';
export { BackupMgmtInputError, BackupNotFoundError, BackupTimeoutError } from './errors.js';
export type { AwaitOptions, CreateFullBackupOptions, ListOptions } from './inputs.js';
export {
  FINAL_BACKUP_STATUSES,
  isSettled,
  progressOf,
  type BackupListRow,
  type BackupProgress,
  type BackupStatus,
  type ClientDatabase,
  type JobType,
  type VerificationStatus,
} from './types.js';
