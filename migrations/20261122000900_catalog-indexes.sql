-- Up Migration
-- Indexes found missing by `npm run bench` (catalog section: 1,000,000 backups
-- with their history, 100,000 recoveries, 10,000 schedules).
--
-- Completed current backups of a type, by end time: the candidates of PITR
-- planning (newest verified full backup that ended before the target) and the
-- kept full backups of the recoverability view. The seed's type/scope index
-- holds every current version, expired history included: planning read all
-- 10,400 full backups to find the 460 still stored.
CREATE INDEX idx_backup_execution_s_completed_type_end ON backup_mgmt.backup_execution_s (backup_type, backup_end_time)
    WHERE load_end_date IS NULL AND backup_status = 'COMPLETED';

-- The same by start time: PITR planning walks them newest first from the
-- target time backwards (a backup that ended before the target started before it).
CREATE INDEX idx_backup_execution_s_completed_type_start ON backup_mgmt.backup_execution_s (backup_type, backup_start_time)
    WHERE load_end_date IS NULL AND backup_status = 'COMPLETED';

-- The health checks ask for a few current rows in a state that is common in
-- the history (every backup was PENDING once, many verifications and backups
-- failed over the years). Statistics describe all versions, so the planner
-- expects hundreds of thousands of rows and scans; partial indexes holding
-- exactly the rows asked for are small and, for the time windows, ordered.
CREATE INDEX idx_backup_execution_s_failed_at ON backup_mgmt.backup_execution_s ((coalesce(backup_end_time, load_date)))
    WHERE load_end_date IS NULL AND backup_status = 'FAILED';
CREATE INDEX idx_backup_execution_s_verification_failed_at ON backup_mgmt.backup_execution_s ((coalesce(verification_date, load_date)))
    WHERE load_end_date IS NULL AND verification_status = 'FAILED';
CREATE INDEX idx_backup_execution_s_verification_pending ON backup_mgmt.backup_execution_s (backup_hk)
    WHERE load_end_date IS NULL AND verification_status = 'PENDING';
CREATE INDEX idx_recovery_operation_s_pending ON backup_mgmt.recovery_operation_s (recovery_hk)
    WHERE load_end_date IS NULL AND recovery_status = 'PENDING';
CREATE INDEX idx_recovery_operation_s_drill_completed ON backup_mgmt.recovery_operation_s (recovery_end_time)
    WHERE load_end_date IS NULL AND recovery_type = 'RESTORE_DRILL' AND recovery_status = 'COMPLETED';
CREATE INDEX idx_recovery_operation_s_drill_at ON backup_mgmt.recovery_operation_s ((coalesce(recovery_end_time, load_date)))
    WHERE load_end_date IS NULL AND recovery_type = 'RESTORE_DRILL';

-- Archived segments not purged, by name: counting those of a range (are
-- they all there?) reads only this index (_health_recoverability, 50,400
-- segments: 31 ms through the heap, a fraction from here).
CREATE INDEX idx_wal_archive_present_segments ON backup_mgmt.wal_archive (system_identifier, file_name)
    WHERE purged_at IS NULL AND length(file_name) = 24;

-- Active schedules of a type (the age checks of health_check).
CREATE INDEX idx_backup_schedule_s_active_type ON backup_mgmt.backup_schedule_s (backup_type)
    WHERE load_end_date IS NULL AND is_active;

-- Retention walks every chain from its top down: source → dependents from
-- the index alone, without a heap visit per link.
CREATE INDEX idx_backup_dependency_l_source_dependent ON backup_mgmt.backup_dependency_l (source_backup_hk, dependent_backup_hk);

-- Down Migration
DROP INDEX IF EXISTS backup_mgmt.idx_backup_dependency_l_source_dependent;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_execution_s_completed_type_start;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_schedule_s_active_type;
DROP INDEX IF EXISTS backup_mgmt.idx_wal_archive_present_segments;
DROP INDEX IF EXISTS backup_mgmt.idx_recovery_operation_s_drill_at;
DROP INDEX IF EXISTS backup_mgmt.idx_recovery_operation_s_drill_completed;
DROP INDEX IF EXISTS backup_mgmt.idx_recovery_operation_s_pending;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_execution_s_verification_pending;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_execution_s_verification_failed_at;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_execution_s_failed_at;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_execution_s_completed_type_end;
