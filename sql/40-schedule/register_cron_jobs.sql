-- Gives every active schedule its pg_cron job: for pg_cron installed (or
-- re-enabled) after the schedules were defined.

CREATE OR REPLACE FUNCTION backup_mgmt.register_cron_jobs()
RETURNS TABLE (schedule_name text, cron_job_name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Schedules defined while pg_cron was absent have no cron_job_name and were
-- run by agents (run_due_schedules). Each active one gets the name (a new
-- satellite version) and its job, exactly as create_backup_schedule() would
-- have made it (_schedule_cron_sync, as the pack's owner); a job removed
-- behind the pack's back is re-created. Called by `backup-mgmt migrate up`
-- and `setup --apply`. Without pg_cron in this database: no rows.
DECLARE
    v_s record;
    v_job text;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'register_cron_jobs');
    IF NOT backup_mgmt._schedule_pg_cron() THEN
        RETURN;
    END IF;
    FOR v_s IN
        SELECT c.schedule_hk, c.schedule_name, c.cron_job_name
          FROM backup_mgmt.backup_schedule_s AS c
         WHERE c.load_end_date IS NULL AND c.is_active AND NOT coalesce(c.tags ? 'dropped_at', false)
         ORDER BY c.schedule_name
    LOOP
        v_job := 'backup_mgmt:' || v_s.schedule_name;
        CONTINUE WHEN v_s.cron_job_name IS NOT NULL
            AND EXISTS (SELECT 1 FROM cron.job AS j WHERE j.jobname = v_s.cron_job_name AND j.database = current_database() AND j.active);
        PERFORM backup_mgmt._schedule_lock(v_s.schedule_name::text);
        IF v_s.cron_job_name IS NULL THEN
            PERFORM backup_mgmt.backup_schedule_s_load(v_s.schedule_hk,
                jsonb_build_object('cron_job_name', v_job, 'changed_by', session_user), 'backup_mgmt.register_cron_jobs');
        END IF;
        PERFORM backup_mgmt._schedule_cron_sync(v_s.schedule_hk);
        schedule_name := v_s.schedule_name;
        cron_job_name := v_job;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.register_cron_jobs() IS
'Gives every active schedule that lacks one its pg_cron job backup_mgmt:<name> (schedules defined before pg_cron was installed, or jobs removed or disabled behind the pack''s back) and returns (schedule_name, cron_job_name) of each job made. No rows without pg_cron in this database. Run by `backup-mgmt migrate up` and `setup --apply`; system-wide callers only (42501 for a tenant-bound role).';
