-- Lets a paused schedule run again.

CREATE OR REPLACE FUNCTION backup_mgmt.resume_backup_schedule(p_schedule_name text)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- is_active true and the next run from now: slots that passed while paused
-- are not made up. The pg_cron job becomes active again.
DECLARE
    v_s backup_mgmt.backup_schedule_s := backup_mgmt._schedule_lock(p_schedule_name);
BEGIN
    -- Already active: nothing to write.
    RETURN backup_mgmt._schedule_save(v_s, CASE WHEN NOT coalesce(v_s.is_active, false) THEN jsonb_build_object(
            'is_active', true,
            'next_execution_time', backup_mgmt._schedule_next_run(v_s.schedule_expression, now(), v_s.timezone, v_s.execution_window_start, v_s.execution_window_end),
            'changed_by', session_user) END,
        'backup_mgmt.resume_backup_schedule');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.resume_backup_schedule(text) IS
'Resumes a paused schedule: is_active true, next_execution_time the next slot after now (missed slots are not made up), pg_cron job active. Returns the schedule hash key; 42704 if unknown or dropped.';
