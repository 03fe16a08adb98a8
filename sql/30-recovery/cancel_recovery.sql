-- The requester (or an admin) withdraws a recovery or stops a running one.

CREATE OR REPLACE FUNCTION backup_mgmt.cancel_recovery(p_recovery_hk bytea)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- PENDING: CANCELLED at once. APPROVED (job queued): job and recovery
-- CANCELLED at once. RUNNING: the job is marked CANCELLED; the agent learns
-- it from job_progress() = false, stops the restored server, removes the
-- directory and acknowledges with fail_job(), and the recovery ends CANCELLED
-- (also when its lease runs out first). The job row is locked before the
-- recovery, in the same order as the agent functions.
DECLARE
    v_job backup_mgmt.job;
    v_cur backup_mgmt.recovery_operation_current;
    v_message text;
BEGIN
    PERFORM backup_mgmt._require_args(p_recovery_hk IS NULL, 'cancel_recovery', 'p_recovery_hk', 'Pass the recovery_id returned by initiate_point_in_time_recovery() or initiate_recovery().');
    v_job := backup_mgmt._latest_job(p_recovery_hk, 'RESTORE');
    v_cur := backup_mgmt._lock_recovery(p_recovery_hk, 'cancel_recovery');
    IF v_job.job_id IS NULL AND v_cur.recovery_status IN ('APPROVED', 'RUNNING') THEN
        -- Approved while this call waited for the recovery's lock: its job is new.
        v_job := backup_mgmt._latest_job(p_recovery_hk, 'RESTORE');
    END IF;
    IF v_cur.initiated_by IS DISTINCT FROM session_user AND NOT backup_mgmt._is_recovery_admin() THEN
        RAISE EXCEPTION 'cancel_recovery: only % (who requested recovery %) or a member of backup_mgmt_admin may cancel it', v_cur.initiated_by, v_cur.recovery_bk
            USING ERRCODE = '42501', HINT = 'An approver who does not want it to run can reject_recovery() while it is PENDING.';
    END IF;
    v_message := format('cancelled by %s at %s', session_user, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));

    IF v_cur.recovery_status = 'PENDING' THEN
        PERFORM backup_mgmt.recovery_operation_s_load(p_recovery_hk, jsonb_build_object(
            'recovery_status', 'CANCELLED',
            'recovery_end_time', greatest(now(), v_cur.recovery_start_time),
            'error_message', v_message,
            'error_code', 'CANCELLED',
            'changed_by', session_user), 'backup_mgmt.cancel_recovery');
    ELSIF NOT backup_mgmt._cancel_job(v_job, v_cur.recovery_status, 'APPROVED', v_message, 'backup_mgmt.cancel_recovery') THEN
        RAISE EXCEPTION 'cancel_recovery: recovery % is %, there is nothing to cancel', v_cur.recovery_bk, v_cur.recovery_status
            USING ERRCODE = '55000', HINT = 'Only PENDING, APPROVED and RUNNING recoveries can be cancelled.';
    END IF;

    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cancel_recovery(bytea) IS
'Cancels a recovery: PENDING or APPROVED (job queued) -> CANCELLED at once; RUNNING -> its job is marked CANCELLED, job_progress() returns false to the agent, which stops and removes the restore and calls fail_job(), and the recovery ends CANCELLED (also when the lease runs out first). Only the requester or a member of backup_mgmt_admin (42501). Other states: 55000; unknown: P0002. Returns the recovery_list row.';
