-- Records on a recovery what happened to its RESTORE job.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_job_event(
    p_job backup_mgmt.job,
    p_event text,
    p_message text,
    p_record_source text
)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- started -> RUNNING (recovery_start_time = now); requeued/released ->
-- APPROVED again (queued); failed/lost -> FAILED; cancelled -> CANCELLED. A
-- drill that failed or was lost also tells its backup: recovery_tested,
-- recovery_test_date, recovery_test_success = false. Every version goes
-- through the generated loaders with changed_by = session_user.
DECLARE
    v_cur backup_mgmt.recovery_operation_current;
    v_changes jsonb;
    v_end timestamptz;
    v_duration numeric;
BEGIN
    SELECT * INTO v_cur FROM backup_mgmt.recovery_operation_current AS r WHERE r.recovery_hk = p_job.subject_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION '_recovery_job_event: job % refers to no recovery', p_job.job_id
            USING ERRCODE = 'P0002', DETAIL = encode(p_job.subject_hk, 'hex');
    END IF;

    CASE p_event
        WHEN 'started' THEN
            v_changes := jsonb_build_object(
                'recovery_status', 'RUNNING', 'recovery_start_time', now(), 'recovery_end_time', NULL,
                'recovery_duration_seconds', NULL, 'error_message', NULL, 'error_code', NULL);
        WHEN 'requeued', 'released' THEN
            v_changes := jsonb_build_object(
                'recovery_status', 'APPROVED', 'recovery_end_time', NULL, 'recovery_duration_seconds', NULL,
                'error_message', CASE WHEN p_event = 'requeued' THEN p_message END,
                'error_code', CASE WHEN p_event = 'requeued' THEN 'RETRYING' END);
        WHEN 'failed', 'lost', 'cancelled' THEN
            v_end := greatest(now(), v_cur.recovery_start_time);
            IF v_cur.recovery_status = 'RUNNING' THEN
                v_duration := round(extract(epoch FROM v_end - v_cur.recovery_start_time), 3);
            END IF;
            v_changes := jsonb_build_object(
                'recovery_status', CASE WHEN p_event = 'cancelled' THEN 'CANCELLED' ELSE 'FAILED' END,
                'recovery_end_time', v_end,
                'recovery_duration_seconds', v_duration,
                'error_message', p_message,
                'error_code', CASE p_event WHEN 'failed' THEN 'AGENT_ERROR' WHEN 'lost' THEN 'AGENT_LOST' ELSE 'CANCELLED' END);
            IF v_cur.is_drill AND p_event IN ('failed', 'lost') AND v_cur.source_backup_hk IS NOT NULL THEN
                PERFORM backup_mgmt.backup_execution_s_load(v_cur.source_backup_hk, jsonb_build_object(
                    'recovery_tested', true,
                    'recovery_test_date', v_end,
                    'recovery_test_success', false,
                    'recovery_test_duration_seconds', v_duration,
                    'changed_by', session_user), p_record_source);
            END IF;
        ELSE
            RAISE EXCEPTION '_recovery_job_event: unknown event %', quote_literal(p_event)
                USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
    END CASE;

    PERFORM backup_mgmt.recovery_operation_s_load(
        p_job.subject_hk, v_changes || jsonb_build_object('changed_by', session_user), p_record_source);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_job_event(backup_mgmt.job, text, text, text) IS
'Internal: writes the recovery_operation_s version a RESTORE job event implies (started -> RUNNING, requeued/released -> APPROVED, failed/lost -> FAILED, cancelled -> CANCELLED); a failed or lost drill also records recovery_tested = true, recovery_test_success = false on its backup.';
