-- Cancels the job of a backup or recovery, as far as its state allows.

CREATE OR REPLACE FUNCTION backup_mgmt._cancel_job(
    p_job backup_mgmt.job, p_subject_status text, p_queued_status text, p_message text, p_record_source text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Subject waiting (p_queued_status) and job QUEUED: both CANCELLED at once.
-- Subject and job RUNNING: the job is marked CANCELLED; the agent learns it
-- from job_progress() = false, aborts and acknowledges with fail_job() (or
-- its lease runs out and claim_job does). Already requested: nothing to do.
-- false: nothing here can be cancelled (the caller says why).
BEGIN
    IF p_subject_status = p_queued_status AND p_job.status = 'QUEUED' THEN
        UPDATE backup_mgmt.job AS j
           SET status = 'CANCELLED', finished_at = now(), last_error = p_message
         WHERE j.job_id = p_job.job_id
        RETURNING * INTO p_job;
        PERFORM backup_mgmt._job_subject_transition(p_job, 'cancelled', p_message, p_record_source);
    ELSIF p_subject_status = 'RUNNING' AND p_job.status = 'RUNNING' THEN
        UPDATE backup_mgmt.job AS j
           SET status = 'CANCELLED', last_error = p_message
         WHERE j.job_id = p_job.job_id;
    ELSIF p_subject_status = 'RUNNING' AND p_job.status = 'CANCELLED' THEN
        -- Already requested; the agent has not acknowledged yet.
        NULL;
    ELSE
        RETURN false;
    END IF;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cancel_job(backup_mgmt.job, text, text, text, text) IS
'Internal (cancel_backup, cancel_recovery): queued job -> CANCELLED with its subject; running job -> marked CANCELLED for the agent to acknowledge; returns false when the subject''s state leaves nothing to cancel.';
