-- Closes a job that was cancelled while an agent held it.

CREATE OR REPLACE FUNCTION backup_mgmt._finish_cancelled_job(p_job backup_mgmt.job, p_note text, p_record_source text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- cancel_*() marks a running job CANCELLED and leaves it to the agent to
-- stop; when the agent acknowledges (fail_job, release_job) or its lease runs
-- out, the job is finished here and its subject becomes CANCELLED.
-- Finishing twice is a no-op.
DECLARE
    v_message text;
BEGIN
    IF p_job.status <> 'CANCELLED' OR p_job.finished_at IS NOT NULL THEN
        RETURN;
    END IF;
    v_message := coalesce(p_job.last_error, 'cancelled')
                 || CASE WHEN p_note IS NULL OR p_note = '' THEN '' ELSE ' (' || p_note || ')' END;
    UPDATE backup_mgmt.job AS j
       SET finished_at = now(), lease_expires_at = NULL, last_error = v_message
     WHERE j.job_id = p_job.job_id;
    PERFORM backup_mgmt._job_subject_transition(p_job, 'cancelled', v_message, p_record_source);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._finish_cancelled_job(backup_mgmt.job, text, text) IS
'Internal: finishes a CANCELLED job that an agent was running (finished_at, lease cleared) and records the cancellation on its subject; p_note is appended to the cancellation message.';
