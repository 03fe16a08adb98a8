-- Records on a recovery what happened to its RESTORE job.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_job_event(p_job backup_mgmt.job, p_event text, p_message text, p_record_source text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- _job_event_changes: started -> RUNNING (recovery_start_time = now);
-- requeued/released -> APPROVED again (queued); failed/lost -> FAILED;
-- cancelled -> CANCELLED. A drill that failed or was lost also tells its
-- backup: recovery_tested, recovery_test_date, recovery_test_success = false.
-- Every version goes through the generated loaders with changed_by =
-- session_user.
DECLARE
    v_cur backup_mgmt.recovery_operation_current := backup_mgmt._job_subject_row(NULL::backup_mgmt.recovery_operation_current, 'recovery', p_job);
    v_changes jsonb := backup_mgmt._job_event_changes(
        'recovery', p_event, p_message, v_cur.recovery_status, v_cur.recovery_start_time, 'APPROVED');
BEGIN
    PERFORM backup_mgmt.recovery_operation_s_load(p_job.subject_hk, v_changes || jsonb_build_object('changed_by', session_user), p_record_source);
    -- Then what the drill's failure says about its backup.
    IF v_cur.is_drill AND p_event IN ('failed', 'lost') AND v_cur.source_backup_hk IS NOT NULL THEN
        PERFORM backup_mgmt.backup_execution_s_load(v_cur.source_backup_hk, jsonb_build_object(
            'recovery_tested', true,
            'recovery_test_date', v_changes->'recovery_end_time',
            'recovery_test_success', false,
            'recovery_test_duration_seconds', v_changes->'recovery_duration_seconds',
            'changed_by', session_user), p_record_source);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_job_event(backup_mgmt.job, text, text, text) IS
'Internal: writes the recovery_operation_s version a RESTORE job event implies (started -> RUNNING, requeued/released -> APPROVED, failed/lost -> FAILED, cancelled -> CANCELLED); a failed or lost drill also records recovery_tested = true, recovery_test_success = false on its backup.';
