-- Retires a schedule; its history stays.

CREATE OR REPLACE FUNCTION backup_mgmt.drop_backup_schedule(p_schedule_name text)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Insert-only catalog: the drop is a last version (is_active false, no next
-- run, no pg_cron job, tags.dropped_at/dropped_by) and the pg_cron job is
-- unscheduled. Dropping a dropped schedule changes nothing.
DECLARE
    v_s backup_mgmt.backup_schedule_s := backup_mgmt._schedule_lock(p_schedule_name, true);
BEGIN
    -- Dropped already: nothing to write.
    RETURN backup_mgmt._schedule_save(v_s, CASE WHEN NOT coalesce(v_s.tags ? 'dropped_at', false) THEN jsonb_build_object(
            'is_active', false,
            'next_execution_time', NULL,
            'cron_job_name', NULL,
            'changed_by', session_user,
            'tags', coalesce(v_s.tags, '{}'::jsonb) || jsonb_build_object('dropped_at', now(), 'dropped_by', session_user)) END,
        'backup_mgmt.drop_backup_schedule');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.drop_backup_schedule(text) IS
'Drops a schedule: a final backup_schedule_s version with is_active false, next_execution_time and cron_job_name NULL and tags.dropped_at/dropped_by; the pg_cron job is removed; earlier versions and schedule_execution_l links stay. Returns the schedule hash key; 42704 if the name was never defined.';
