-- Records a backup COMPLETED from its job's result.

CREATE OR REPLACE FUNCTION backup_mgmt._complete_backup(p_job backup_mgmt.job, p_started timestamptz, p_ended timestamptz, p_changes jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The version every kind of backup ends with: COMPLETED, the times the agent
-- measured (the request's start when it gave none; the end never before the
-- start), the duration, the attempts, no error; p_changes adds what is the
-- kind's own (sizes, file name, checksums).
DECLARE
    v_cur backup_mgmt.backup_execution_current;
    v_started timestamptz;
    v_ended timestamptz;
BEGIN
    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_job.subject_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'complete_job: job % refers to no backup', p_job.job_id
            USING ERRCODE = 'P0002', DETAIL = encode(p_job.subject_hk, 'hex');
    END IF;
    v_started := coalesce(p_started, v_cur.backup_start_time);
    v_ended := greatest(coalesce(p_ended, now()), v_started);

    PERFORM backup_mgmt.backup_execution_s_load(p_job.subject_hk, jsonb_build_object(
        'backup_status', 'COMPLETED',
        'backup_start_time', v_started,
        'backup_end_time', v_ended,
        'backup_duration_seconds', round(extract(epoch FROM v_ended - v_started), 3),
        'retry_count', p_job.attempts - 1,
        'error_message', NULL,
        'error_code', NULL,
        'changed_by', session_user) || p_changes, 'backup_mgmt.complete_job');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._complete_backup(backup_mgmt.job, timestamptz, timestamptz, jsonb) IS
'Internal (_apply_backup_result, _apply_incremental_result): the job''s backup -> COMPLETED with start, end, duration, retry_count and no error, plus p_changes; no such backup: P0002.';
