-- Up Migration
-- Indexes for health_check(), found by `npm run bench` (catalog section:
-- 1,000,000 backups, 10,000 schedules with 5 versions each, 50,400 archived
-- segments present). health_check() took p50 62 ms / p95 70 ms.
--
-- Active current schedules with what the health checks read of them: the
-- schedules of a type grouped by expression and time zone (_health_backup_age,
-- twice per call) and the count of those with a pg_cron job
-- (_health_cron_jobs), from the index alone. idx_backup_schedule_s_active_type
-- holds only the type, and the planner preferred walking all 10,000 current
-- rows through ux_backup_schedule_s_current: 2,845 heap pages, 8-11 ms for
-- each of the three statements; from this index 0.7 ms and 1.8 ms.
CREATE INDEX idx_backup_schedule_s_active_runs ON backup_mgmt.backup_schedule_s (backup_type, schedule_expression, timezone, schedule_name)
    INCLUDE (cron_job_name)
    WHERE load_end_date IS NULL AND is_active;

-- The number of archived segments of a cluster not purged
-- (_health_recoverability counts them to find WAL gaps). One key value per
-- cluster, so deduplication keeps the entries in a few posting lists and the
-- count does not compare a key per segment: 4.6 ms for 50,400 segments
-- against 9-10 ms from idx_wal_archive_present_segments (0.4 MB, not 3.3 MB).
CREATE INDEX idx_wal_archive_present_system ON backup_mgmt.wal_archive (system_identifier)
    WHERE purged_at IS NULL AND length(file_name) = 24;

-- Down Migration
DROP INDEX IF EXISTS backup_mgmt.idx_wal_archive_present_system;
DROP INDEX IF EXISTS backup_mgmt.idx_backup_schedule_s_active_runs;
