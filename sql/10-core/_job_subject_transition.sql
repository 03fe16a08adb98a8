-- Tells the catalog what happened to a job, per job type.

CREATE OR REPLACE FUNCTION backup_mgmt._job_subject_transition(
    p_job backup_mgmt.job,
    p_event text,
    p_message text,
    p_record_source text
)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The job queue is generic; the subject of a job (a backup, a recovery)
-- keeps its own history. Events: started, requeued, released, failed, lost,
-- cancelled. Job types without a handler yet change only the job row.
BEGIN
    IF p_event NOT IN ('started', 'requeued', 'released', 'failed', 'lost', 'cancelled') THEN
        RAISE EXCEPTION '_job_subject_transition: unknown event %', quote_literal(p_event)
            USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
    END IF;
    CASE p_job.job_type
        WHEN 'BACKUP', 'VERIFY' THEN
            PERFORM backup_mgmt._backup_job_event(p_job, p_event, p_message, p_record_source);
        WHEN 'RESTORE' THEN
            PERFORM backup_mgmt._recovery_job_event(p_job, p_event, p_message, p_record_source);
        ELSE
            -- DELETE (sql/60-retention): the backup stays as it is until the
            -- deletion completes; a failed one is queued again by the next cleanup run.
            NULL;
    END CASE;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._job_subject_transition(backup_mgmt.job, text, text, text) IS
'Internal: dispatches a job event (started, requeued, released, failed, lost, cancelled) to the handler of the job type, which records it on the job''s subject (BACKUP and VERIFY: _backup_job_event; RESTORE: _recovery_job_event).';
