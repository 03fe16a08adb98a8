-- What a job event means for the status columns of its backup or recovery.

CREATE OR REPLACE FUNCTION backup_mgmt._job_event_changes(
    p_kind text, p_event text, p_message text, p_status text, p_start_time timestamptz, p_queued_status text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The lifecycle backups and recoveries share, over the columns
-- <p_kind>_status, _start_time, _end_time, _duration_seconds, error_message
-- and error_code: started -> RUNNING from now; requeued/released -> back to
-- p_queued_status (requeued says RETRYING); failed/lost -> FAILED,
-- cancelled -> CANCELLED, ending now (never before the start) with a
-- duration only when it was RUNNING. p_status and p_start_time are the
-- subject's current ones. The handlers add what is theirs alone.
DECLARE
    v_end timestamptz;
BEGIN
    CASE p_event
        WHEN 'started' THEN
            RETURN jsonb_build_object(
                p_kind || '_status', 'RUNNING', p_kind || '_start_time', now(), p_kind || '_end_time', NULL,
                p_kind || '_duration_seconds', NULL, 'error_message', NULL, 'error_code', NULL);
        WHEN 'requeued', 'released' THEN
            RETURN jsonb_build_object(
                p_kind || '_status', p_queued_status, p_kind || '_end_time', NULL, p_kind || '_duration_seconds', NULL,
                'error_message', CASE WHEN p_event = 'requeued' THEN p_message END,
                'error_code', CASE WHEN p_event = 'requeued' THEN 'RETRYING' END);
        WHEN 'failed', 'lost', 'cancelled' THEN
            v_end := greatest(now(), p_start_time);
            RETURN jsonb_build_object(
                p_kind || '_status', CASE WHEN p_event = 'cancelled' THEN 'CANCELLED' ELSE 'FAILED' END,
                p_kind || '_end_time', v_end,
                p_kind || '_duration_seconds', CASE WHEN p_status = 'RUNNING'
                                                    THEN round(extract(epoch FROM v_end - p_start_time), 3) END,
                'error_message', p_message,
                'error_code', CASE p_event WHEN 'failed' THEN 'AGENT_ERROR' WHEN 'lost' THEN 'AGENT_LOST' ELSE 'CANCELLED' END);
        ELSE
            RAISE EXCEPTION '_%_job_event: unknown event %', p_kind, quote_literal(p_event)
                USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
    END CASE;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._job_event_changes(text, text, text, text, timestamptz, text) IS
'Internal (_backup_job_event, _recovery_job_event): the status, times, duration and error columns a job event (started, requeued, released, failed, lost, cancelled) implies for a backup or recovery (p_kind), as changes for its loader.';
