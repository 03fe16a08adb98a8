-- Writes a new version of a locked schedule and brings its pg_cron job in line.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_save(p_s backup_mgmt.backup_schedule_s, p_changes jsonb, p_record_source text)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The end of every change to a schedule (alter, pause, resume, drop): p_s
-- from _schedule_lock; p_changes NULL when there is nothing to change (the
-- pg_cron job is synchronised all the same, it may have been changed behind
-- the pack's back). Returns the schedule's hash key.
BEGIN
    IF p_changes IS NOT NULL THEN
        PERFORM backup_mgmt.backup_schedule_s_load(p_s.schedule_hk, p_changes, p_record_source);
    END IF;
    PERFORM backup_mgmt._schedule_cron_sync(p_s.schedule_hk);
    RETURN p_s.schedule_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_save(backup_mgmt.backup_schedule_s, jsonb, text) IS
'Internal (alter/pause/resume/drop_backup_schedule): loads p_changes (unless NULL) as a new backup_schedule_s version, synchronises the pg_cron job and returns the schedule hash key.';
