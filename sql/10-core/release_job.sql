-- An agent gives a job back without an outcome (graceful shutdown).

CREATE OR REPLACE FUNCTION backup_mgmt.release_job(p_job_id bigint, p_agent_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Back to the queue, due now, without using up an attempt; the subject goes
-- back to PENDING. A job cancelled meanwhile is finished as cancelled.
DECLARE
    v_job backup_mgmt.job;
BEGIN
    v_job := backup_mgmt._lock_agent_job(p_job_id, p_agent_id, 'release_job');
    IF v_job.status = 'CANCELLED' THEN
        PERFORM backup_mgmt._finish_cancelled_job(v_job, 'released by agent ' || p_agent_id, 'backup_mgmt.release_job');
        RETURN;
    END IF;
    UPDATE backup_mgmt.job AS j
       SET status = 'QUEUED', locked_by = NULL, lease_expires_at = NULL, run_after = now(),
           attempts = greatest(j.attempts - 1, 0), started_at = NULL,
           progress_done = NULL, progress_total = NULL, progress_phase = NULL
     WHERE j.job_id = p_job_id
    RETURNING * INTO v_job;
    PERFORM backup_mgmt._job_subject_transition(v_job, 'released', NULL, 'backup_mgmt.release_job');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.release_job(bigint, text) IS
'Agent protocol (graceful shutdown): the job goes back to QUEUED with attempts - 1 and its backup back to PENDING; a job cancelled meanwhile ends CANCELLED. Job not held by the agent: 55000.';
