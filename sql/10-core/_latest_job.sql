-- The newest job of one type for a subject, locked.

CREATE OR REPLACE FUNCTION backup_mgmt._latest_job(p_subject_hk bytea, p_job_type text)
RETURNS backup_mgmt.job
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
    -- FOR UPDATE: the first lock a cancellation takes, in the same order as
    -- the agent functions (job, then subject). No job: a row of NULLs.
    SELECT * FROM backup_mgmt.job AS j
     WHERE j.subject_hk = p_subject_hk AND j.job_type = p_job_type
     ORDER BY j.job_id DESC LIMIT 1
       FOR UPDATE
$$;

COMMENT ON FUNCTION backup_mgmt._latest_job(bytea, text) IS
'Internal (_cancel_subject): the newest job of p_job_type for the subject, locked FOR UPDATE; all NULL when there is none.';
