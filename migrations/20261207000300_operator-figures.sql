-- Up Migration
-- Figures an operator reads, made to mean what their names say (issue #13).
--
-- 1. duration_seconds of the seed's result rows (create_full_backup,
--    await_backup, cancel_backup) was an integer (0 for a 0.385 s backup):
--    now numeric, as backup_duration_seconds is. A result type cannot be
--    changed by CREATE OR REPLACE: the four functions are dropped here and
--    re-created by the function bundle (sql/20-backup) right after.
DROP FUNCTION IF EXISTS backup_mgmt.create_full_backup(bytea, text, varchar, boolean, boolean);
DROP FUNCTION IF EXISTS backup_mgmt.await_backup(bytea, interval);
DROP FUNCTION IF EXISTS backup_mgmt.cancel_backup(bytea);
DROP FUNCTION IF EXISTS backup_mgmt._backup_status_row(bytea);
-- The bundle is applied when its checksum changes; forget it so the
-- functions dropped above always come back with this migration.
DELETE FROM backup_mgmt.install_state WHERE key = 'sql_bundle_sha256';

-- 2. compression_ratio held percent saved (89.98): now the ratio
--    uncompressed : stored (9.98 = 9.98:1), capped at 999.99 by the column's
--    numeric(5,2). Every version is converted from its own sizes: this
--    corrects a unit, it is not a change of the backup, so no new satellite
--    version (hash_diff stays the digest of what was loaded; the next real
--    change loads a new version as before).
ALTER TABLE backup_mgmt.backup_execution_s DROP CONSTRAINT IF EXISTS chk_backup_execution_s_compression_valid;
UPDATE backup_mgmt.backup_execution_s
   SET compression_ratio = CASE WHEN backup_size_bytes > 0 AND compressed_size_bytes > 0
                                THEN least(round(backup_size_bytes::numeric / compressed_size_bytes, 2), 999.99) END
 WHERE compression_ratio IS NOT NULL;
ALTER TABLE backup_mgmt.backup_execution_s ADD CONSTRAINT chk_backup_execution_s_compression_ratio
    CHECK (compression_ratio IS NULL OR compression_ratio >= 0);
COMMENT ON COLUMN backup_mgmt.backup_execution_s.compression_ratio IS
    'uncompressed size : stored size (3.00 = 3:1; 1.00 uncompressed), at most 999.99';

-- 3. next_execution_time ignored the execution window (a 0 */4 schedule with
--    window 01:00-05:00 showed 20:00): a slot outside the window runs at the
--    window's next start (run_schedule defers it there). Existing schedules
--    are moved by a new satellite version through the loader. On a fresh
--    install there are no schedules and the cron evaluator is not there yet.
DO $$
BEGIN
    IF to_regprocedure('backup_mgmt.cron_next(text,timestamptz,text)') IS NULL THEN
        RETURN;
    END IF;
    EXECUTE $sql$
        SELECT backup_mgmt.backup_schedule_s_load(s.schedule_hk, jsonb_build_object(
                   'next_execution_time',
                   backup_mgmt.cron_next(format('%s %s * * *', extract(minute FROM s.execution_window_start)::integer,
                                                extract(hour FROM s.execution_window_start)::integer),
                                         s.next_execution_time, coalesce(s.timezone, 'UTC'))),
                   'migration 20261207000300_operator-figures')
          FROM backup_mgmt.backup_schedule_s AS s
         WHERE s.load_end_date IS NULL AND s.is_active AND s.next_execution_time IS NOT NULL
           AND s.execution_window_start IS NOT NULL
           AND NOT backup_mgmt._schedule_in_window(s.next_execution_time, coalesce(s.timezone, 'UTC'),
                                                   s.execution_window_start, s.execution_window_end)
    $sql$;
END;
$$;

-- 4. The backup-age check now reads each schedule's window: from the index
--    alone, as before (see 20261203000000_health-indexes).
DROP INDEX IF EXISTS backup_mgmt.idx_backup_schedule_s_active_runs;
CREATE INDEX idx_backup_schedule_s_active_runs ON backup_mgmt.backup_schedule_s (backup_type, schedule_expression, timezone, schedule_name)
    INCLUDE (cron_job_name, execution_window_start, execution_window_end)
    WHERE load_end_date IS NULL AND is_active;

-- Down Migration
DROP INDEX IF EXISTS backup_mgmt.idx_backup_schedule_s_active_runs;
CREATE INDEX idx_backup_schedule_s_active_runs ON backup_mgmt.backup_schedule_s (backup_type, schedule_expression, timezone, schedule_name)
    INCLUDE (cron_job_name)
    WHERE load_end_date IS NULL AND is_active;
ALTER TABLE backup_mgmt.backup_execution_s DROP CONSTRAINT IF EXISTS chk_backup_execution_s_compression_ratio;
UPDATE backup_mgmt.backup_execution_s
   SET compression_ratio = CASE WHEN backup_size_bytes > 0 AND compressed_size_bytes > 0
                                THEN least(greatest(round(100 * (1 - compressed_size_bytes::numeric / backup_size_bytes), 2), 0), 100) END
 WHERE compression_ratio IS NOT NULL;
ALTER TABLE backup_mgmt.backup_execution_s ADD CONSTRAINT chk_backup_execution_s_compression_valid
    CHECK (compression_ratio IS NULL OR (compression_ratio >= 0 AND compression_ratio <= 100));
COMMENT ON COLUMN backup_mgmt.backup_execution_s.compression_ratio IS 'percent saved by compression, 0-100';
