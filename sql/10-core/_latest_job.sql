-- The newest job of one type for a subject, locked.

CREATE OR REPLACE FUNCTION backup_mgmt._latest_job(p_subject_hk bytea, p_job_type text)
RETURNS backup_mgmt.job
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Locks the job row FOR UPDATE, the first lock a cancellation takes: the same
-- order as the agent functions (job, then subject). All NULL when none.
DECLARE
    v_job backup_mgmt.job;
BEGIN
    SELECT * INTO v_job FROM backup_mgmt.job AS j
     WHERE j.subject_hk = p_subject_hk AND j.job_type = p_job_type
     ORDER BY j.job_id DESC LIMIT 1
       FOR UPDATE;
    RETURN v_job;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._latest_job(bytea, text) IS
'Internal (cancel_backup, cancel_recovery): the newest job of p_job_type for the subject, locked FOR UPDATE; all NULL when there is none.';
