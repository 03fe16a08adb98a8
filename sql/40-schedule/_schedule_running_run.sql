-- Describes a schedule's previous run if it is still going, else NULL.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_running_run(p_schedule_hk bytea, p_backup_type text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- FULL/INCREMENTAL: the backup last linked to the schedule in
-- schedule_execution_l is PENDING or RUNNING. VERIFY, CLEANUP, DRILL: a job
-- of their kind (VERIFY, DELETE, RESTORE) is queued or running. HEALTH_CHECK
-- runs synchronously and never overlaps.
DECLARE
    v_bk text;
    v_status text;
    v_job bigint;
BEGIN
    IF p_backup_type IN ('FULL', 'INCREMENTAL') THEN
        SELECT h.backup_bk, c.backup_status INTO v_bk, v_status
          FROM backup_mgmt.schedule_execution_l AS l
          JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = l.backup_hk
          LEFT JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = l.backup_hk
         WHERE l.schedule_hk = p_schedule_hk
         ORDER BY l.load_date DESC
         LIMIT 1;
        IF v_status IN ('PENDING', 'RUNNING') THEN
            RETURN format('backup %s is %s', v_bk, v_status);
        END IF;
        RETURN NULL;
    END IF;
    SELECT j.job_id INTO v_job FROM backup_mgmt.job AS j
     WHERE j.status IN ('QUEUED', 'RUNNING')
       AND j.job_type = CASE p_backup_type WHEN 'VERIFY' THEN 'VERIFY' WHEN 'CLEANUP' THEN 'DELETE' WHEN 'DRILL' THEN 'RESTORE' END
     ORDER BY j.job_id
     LIMIT 1;
    IF v_job IS NOT NULL THEN
        RETURN format('%s job %s is still queued or running', lower(p_backup_type), v_job);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_running_run(bytea, text) IS
'Internal: why a schedule''s previous run counts as still going (its last linked backup PENDING/RUNNING, or a queued/running VERIFY/DELETE/RESTORE job for VERIFY/CLEANUP/DRILL schedules), or NULL.';
