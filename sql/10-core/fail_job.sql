-- An agent reports that a job failed.

CREATE OR REPLACE FUNCTION backup_mgmt.fail_job(
    p_job_id bigint,
    p_agent_id text,
    p_error text,
    p_retryable boolean DEFAULT false
)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Retryable with attempts left: back to the queue after job.retry_delay_seconds
-- (5 s) x attempts, the
-- subject PENDING again. Otherwise the job and its subject FAIL with p_error.
-- A job cancelled while running is the agent acknowledging the cancellation:
-- the subject becomes CANCELLED, not FAILED.
DECLARE
    v_job backup_mgmt.job;
BEGIN
    v_job := backup_mgmt._lock_agent_job(p_job_id, p_agent_id, 'fail_job');
    IF p_error IS NULL OR btrim(p_error) = '' THEN
        RAISE EXCEPTION 'fail_job: p_error must say what went wrong'
            USING ERRCODE = '22004', HINT = 'Pass the tool''s own error message.';
    END IF;
    PERFORM backup_mgmt._require_args(p_retryable IS NULL, 'fail_job', 'p_retryable', 'true when trying again may help, false otherwise.');

    IF v_job.status = 'CANCELLED' THEN
        PERFORM backup_mgmt._finish_cancelled_job(v_job, 'agent: ' || p_error, 'backup_mgmt.fail_job');
    ELSIF p_retryable AND v_job.attempts < v_job.max_attempts THEN
        UPDATE backup_mgmt.job AS j
           SET status = 'QUEUED', locked_by = NULL, lease_expires_at = NULL,
               run_after = now() + make_interval(secs => backup_mgmt.setting('job.retry_delay_seconds')::integer * j.attempts), last_error = p_error
         WHERE j.job_id = p_job_id
        RETURNING * INTO v_job;
        PERFORM backup_mgmt._job_subject_transition(v_job, 'requeued', p_error, 'backup_mgmt.fail_job');
    ELSE
        UPDATE backup_mgmt.job AS j
           SET status = 'FAILED', lease_expires_at = NULL, finished_at = now(), last_error = p_error
         WHERE j.job_id = p_job_id
        RETURNING * INTO v_job;
        PERFORM backup_mgmt._job_subject_transition(v_job, 'failed', p_error, 'backup_mgmt.fail_job');
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.fail_job(bigint, text, text, boolean) IS
'Agent protocol: a job failed with p_error. Retryable and attempts left: QUEUED again after job.retry_delay_seconds (5 s) x attempts (backup PENDING). Otherwise job FAILED and backup FAILED with error_message = p_error. A job cancelled while running: backup CANCELLED. Job not held by the agent: 55000.';
