-- Stops a schedule from running until it is resumed.

CREATE OR REPLACE FUNCTION backup_mgmt.pause_backup_schedule(p_schedule_name text)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- is_active false and no next run; the pg_cron job becomes inactive. Pausing
-- a paused schedule changes nothing.
DECLARE
    v_s backup_mgmt.backup_schedule_s := backup_mgmt._schedule_lock(p_schedule_name);
BEGIN
    RETURN backup_mgmt._schedule_save(v_s, jsonb_build_object(
        'is_active', false,
        'next_execution_time', NULL,
        'changed_by', CASE WHEN v_s.is_active THEN session_user ELSE v_s.changed_by END),
        'backup_mgmt.pause_backup_schedule');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.pause_backup_schedule(text) IS
'Pauses a schedule (is_active false, next_execution_time NULL, pg_cron job inactive); run_schedule() then answers ''skipped: paused''. Returns the schedule hash key; 42704 if unknown or dropped.';
