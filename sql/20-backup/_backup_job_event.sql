-- Records on a backup what happened to one of its jobs.

CREATE OR REPLACE FUNCTION backup_mgmt._backup_job_event(p_job backup_mgmt.job, p_event text, p_message text, p_record_source text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- BACKUP jobs drive backup_status (_job_event_changes): started -> RUNNING;
-- requeued/released -> PENDING from the request time; failed/lost -> FAILED
-- (a verification still PENDING becomes NULL: nothing was stored);
-- cancelled -> CANCELLED (a PENDING verification becomes SKIPPED, it will
-- never run). VERIFY jobs drive only verification_status: failed/lost ->
-- FAILED, cancelled -> SKIPPED. Every version goes through the generated
-- loader with changed_by = session_user.
DECLARE
    v_cur backup_mgmt.backup_execution_current := backup_mgmt._job_subject_row(NULL::backup_mgmt.backup_execution_current, 'backup', p_job);
    v_changes jsonb;
BEGIN
    IF p_job.job_type = 'BACKUP' THEN
        v_changes := backup_mgmt._job_event_changes('backup', p_event, p_message, v_cur.backup_status, v_cur.backup_start_time, 'PENDING');
        CASE p_event
            WHEN 'started' THEN
                v_changes := v_changes || jsonb_build_object('retry_count', p_job.attempts - 1);
            WHEN 'requeued', 'released' THEN
                v_changes := v_changes || jsonb_build_object(
                    'backup_start_time', coalesce(v_cur.requested_at, v_cur.backup_start_time), 'retry_count', p_job.attempts);
            ELSE
                v_changes := v_changes || jsonb_build_object(
                    -- A verification that will never run: SKIPPED when cancelled; a failed
                    -- backup stored nothing, so it has no verification status at all (NULL)
                    -- rather than one that reads like "not requested".
                    'verification_status', CASE WHEN v_cur.verification_status <> 'PENDING' THEN v_cur.verification_status
                                                WHEN p_event = 'cancelled' THEN 'SKIPPED' END,
                    'verification_detail', CASE WHEN v_cur.verification_status = 'PENDING' AND p_event <> 'cancelled'
                                                THEN 'not verified: the backup failed and stored nothing'
                                                ELSE v_cur.verification_detail END);
        END CASE;
    ELSIF p_job.job_type = 'VERIFY' THEN
        CASE p_event
            WHEN 'failed', 'lost' THEN
                v_changes := jsonb_build_object(
                    'verification_status', 'FAILED', 'verification_date', now(), 'integrity_verified', NULL,
                    'verification_detail', 'verification did not run to completion: ' || p_message);
            WHEN 'cancelled' THEN
                v_changes := jsonb_build_object(
                    'verification_status', 'SKIPPED', 'verification_date', NULL, 'integrity_verified', NULL,
                    'verification_detail', p_message);
            ELSE
                -- started, requeued, released: the verification stays PENDING.
                RETURN;
        END CASE;
    ELSE
        RAISE EXCEPTION '_backup_job_event: % jobs do not concern backups', p_job.job_type
            USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
    END IF;

    PERFORM backup_mgmt.backup_execution_s_load(p_job.subject_hk, v_changes || jsonb_build_object('changed_by', session_user), p_record_source);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._backup_job_event(backup_mgmt.job, text, text, text) IS
'Internal: writes the backup_execution_s version that a BACKUP or VERIFY job event implies (started, requeued, released, failed, lost, cancelled).';
