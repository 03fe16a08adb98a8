-- Makes a schedule's pg_cron job match the schedule's current version.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_cron_sync(p_schedule_hk bytea)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Runs as the caller (the SECURITY DEFINER API functions): pg_cron records
-- that role as the job's user, and the job runs as it. Active schedule: job
-- present and active; paused: job inactive (cron.alter_job, which pg_cron
-- revokes from PUBLIC; without EXECUTE on it the job is removed and
-- re-created on resume); dropped or no cron_job_name: no job.
DECLARE
    v_s backup_mgmt.backup_schedule_s;
    v_job text;
    v_job_id bigint;
    v_job_active boolean;
    v_can_alter boolean;
BEGIN
    IF NOT backup_mgmt._schedule_pg_cron() THEN
        RETURN;
    END IF;
    SELECT * INTO v_s FROM backup_mgmt.backup_schedule_s
     WHERE schedule_hk = p_schedule_hk AND load_end_date IS NULL;
    v_job := 'backup_mgmt:' || v_s.schedule_name;
    SELECT j.jobid, j.active INTO v_job_id, v_job_active
      FROM cron.job AS j WHERE j.jobname = v_job AND j.username = current_user;
    v_can_alter := has_function_privilege('cron.alter_job(bigint,text,text,text,text,boolean)', 'EXECUTE');

    IF v_s.cron_job_name IS NULL OR coalesce(v_s.tags ? 'dropped_at', false) OR (NOT coalesce(v_s.is_active, false) AND NOT v_can_alter) THEN
        IF v_job_id IS NOT NULL THEN
            PERFORM cron.unschedule(v_job_id);
        END IF;
        RETURN;
    END IF;

    IF v_job_id IS NOT NULL AND NOT v_job_active AND v_s.is_active AND NOT v_can_alter THEN
        PERFORM cron.unschedule(v_job_id);
    END IF;
    -- schedule() with an existing name updates schedule and command in place
    v_job_id := cron.schedule(v_job,
                              backup_mgmt._schedule_cron_spec(v_s.schedule_expression, coalesce(v_s.timezone, 'UTC'), v_s.execution_window_start),
                              format('SELECT backup_mgmt.run_schedule(%L)', v_s.schedule_name));
    IF v_can_alter THEN
        PERFORM cron.alter_job(v_job_id, active => coalesce(v_s.is_active, false));
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_cron_sync(bytea) IS
'Internal: creates, updates, deactivates or removes the pg_cron job backup_mgmt:<name> (command SELECT backup_mgmt.run_schedule(''<name>'')) so that it matches the schedule; no-op without pg_cron in this database.';
