-- The pack function a schedule type runs.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_work_function(p_backup_type text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    -- One place for the mapping: what a run calls is what its owner must be allowed to call.
    SELECT CASE p_backup_type
        WHEN 'FULL' THEN 'create_full_backup'
        WHEN 'INCREMENTAL' THEN 'create_incremental_backup'
        WHEN 'CLEANUP' THEN 'cleanup_expired_backups'
        WHEN 'HEALTH_CHECK' THEN 'health_check'
        WHEN 'VERIFY' THEN 'verify_backup_integrity'
        WHEN 'DRILL' THEN 'create_restore_drill' END
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_work_function(text) IS
'Internal: the backup_mgmt function a schedule of type p_backup_type runs (FULL create_full_backup, INCREMENTAL create_incremental_backup, CLEANUP cleanup_expired_backups, HEALTH_CHECK health_check, VERIFY verify_backup_integrity, DRILL create_restore_drill); NULL for an unknown type.';
