-- Health check cron_jobs: does every active schedule still have its pg_cron job?

CREATE OR REPLACE FUNCTION backup_mgmt._health_cron_jobs(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Only where pg_cron is installed in this database (elsewhere agents drive
-- the schedules with run_due_schedules()). An active schedule with a
-- cron_job_name whose job for this database is missing or inactive (removed
-- or disabled behind the pack's back) is WARNING; alter or pause/resume the
-- schedule to re-create it. cron.job is read with dynamic SQL so that this
-- function also compiles and runs without pg_cron; row security on cron.job
-- shows the function owner its own jobs, which are the pack's.
DECLARE
    v_expected integer;
    v_missing text[];
    v_inactive text[];
    v_failing text[];
BEGIN
    threshold := 'job missing or inactive: warning';
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        -- From idx_backup_schedule_s_active_runs alone (it includes cron_job_name).
        SELECT count(*)::integer INTO v_expected
          FROM backup_mgmt.backup_schedule_s AS c
         WHERE c.load_end_date IS NULL AND c.is_active AND c.cron_job_name IS NOT NULL;
        status := CASE WHEN v_expected > 0 THEN 'WARNING' ELSE 'OK' END;
        value := 'no pg_cron';
        detail := CASE WHEN v_expected > 0
                       THEN format('%s active schedule(s) have pg_cron jobs, but pg_cron is not installed in this database any more: agents run them with run_due_schedules()', v_expected)
                       ELSE 'pg_cron is not installed in this database: agents run due schedules with run_due_schedules()' END;
        RETURN;
    END IF;

    -- With pg_cron here every active schedule needs its job, also those
    -- defined before pg_cron was installed (no cron_job_name yet): the count
    -- comes from the schedules, not from the jobs that exist. One pass over
    -- each side (a hash join), not a cron.job lookup per schedule.
    EXECUTE $sql$
        SELECT count(*)::integer,
               array_agg(format('%s (job %s)', c.schedule_name, coalesce(c.cron_job_name, 'backup_mgmt:' || c.schedule_name)) ORDER BY c.schedule_name) FILTER (WHERE j.jobname IS NULL),
               array_agg(format('%s (job %s)', c.schedule_name, c.cron_job_name) ORDER BY c.schedule_name) FILTER (WHERE NOT j.active)
          FROM backup_mgmt.backup_schedule_s AS c
          LEFT JOIN (SELECT cj.jobname, bool_or(cj.active) AS active
                       FROM cron.job AS cj
                      WHERE cj.database = current_database()
                      GROUP BY cj.jobname) AS j ON j.jobname = c.cron_job_name
         WHERE c.load_end_date IS NULL AND c.is_active
    $sql$ INTO v_expected, v_missing, v_inactive;

    -- A job that exists but whose latest finished run failed (pg_cron could
    -- not connect, the command raised): the schedule does not run either.
    EXECUTE $sql$
        SELECT array_agg(format('%s (job %s): %s', c.schedule_name, c.cron_job_name,
                                left(regexp_replace(coalesce(r.return_message, 'failed'), '\s+', ' ', 'g'), 200))
                         ORDER BY c.schedule_name)
          FROM backup_mgmt.backup_schedule_s AS c
          JOIN cron.job AS cj ON cj.jobname = c.cron_job_name AND cj.database = current_database()
         CROSS JOIN LATERAL (SELECT d.status, d.return_message FROM cron.job_run_details AS d
                              WHERE d.jobid = cj.jobid AND d.status IN ('succeeded', 'failed')
                              ORDER BY d.runid DESC LIMIT 1) AS r
         WHERE c.load_end_date IS NULL AND c.is_active AND c.cron_job_name IS NOT NULL AND r.status = 'failed'
    $sql$ INTO v_failing;

    value := format('%s of %s jobs missing, %s inactive, %s failing', coalesce(cardinality(v_missing), 0), v_expected,
                    coalesce(cardinality(v_inactive), 0), coalesce(cardinality(v_failing), 0));
    IF v_missing IS NOT NULL OR v_inactive IS NOT NULL THEN
        status := 'WARNING';
        detail := concat_ws('; ',
            'missing: ' || array_to_string(v_missing, ', '),
            'inactive: ' || array_to_string(v_inactive, ', '),
            'latest run failed: ' || array_to_string(v_failing, ', '))
            || '; the schedules do not run from pg_cron: run backup-mgmt migrate up (or SELECT * FROM backup_mgmt.register_cron_jobs()) to create the jobs';
    ELSIF v_failing IS NOT NULL THEN
        status := 'WARNING';
        detail := 'latest run failed: ' || array_to_string(v_failing, ', ')
            || '; see cron.job_run_details (a connection failure: cron.host, pg_hba.conf or cron.use_background_workers)';
    ELSE
        status := 'OK';
        detail := format('every active schedule has its pg_cron job, active (%s)', v_expected);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_cron_jobs() IS
'Internal (health_check): with pg_cron in this database, every active schedule needs a job (the count comes from the schedules); those whose job backup_mgmt:<name> for this database is missing from cron.job or inactive, or whose latest finished run in cron.job_run_details failed: WARNING naming it with pg_cron''s message. Without pg_cron: OK (agents run schedules), WARNING if schedules still name pg_cron jobs.';
