-- A second person rejects a pending recovery; it will never run.

CREATE OR REPLACE FUNCTION backup_mgmt.reject_recovery(p_recovery_hk bytea, p_comment text)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Same rules as approve_recovery(): a member of recovery_approver other than
-- the initiator decides about a PENDING recovery. REJECTED is final; the
-- reason is required and kept in approval_comment.
DECLARE
    v_cur backup_mgmt.recovery_operation_current;
BEGIN
    IF NOT pg_has_role(session_user, 'recovery_approver', 'MEMBER') THEN
        RAISE EXCEPTION 'reject_recovery: % may not decide about recoveries', session_user
            USING ERRCODE = '42501', DETAIL = 'Rejecting needs membership in recovery_approver.',
                  HINT = 'The requester can withdraw it with cancel_recovery().';
    END IF;
    IF p_comment IS NULL OR btrim(p_comment) = '' THEN
        RAISE EXCEPTION 'reject_recovery: p_comment must give the reason'
            USING ERRCODE = '22004', HINT = 'The requester reads it in recovery_list.approval_comment.';
    END IF;
    IF length(p_comment) > 1000 OR p_comment ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN
        RAISE EXCEPTION 'reject_recovery: p_comment must be at most 1000 characters without control characters'
            USING ERRCODE = '22023', DETAIL = format('length: %s', length(p_comment)), HINT = 'Line breaks and tabs are fine.';
    END IF;
    v_cur := backup_mgmt._lock_recovery(p_recovery_hk, 'reject_recovery');
    IF v_cur.initiated_by = session_user THEN
        RAISE EXCEPTION 'reject_recovery: % requested recovery % and cannot decide about it: a different person must', session_user, v_cur.recovery_bk
            USING ERRCODE = '42501', HINT = 'Withdraw your own request with cancel_recovery().';
    END IF;
    IF v_cur.recovery_status <> 'PENDING' THEN
        RAISE EXCEPTION 'reject_recovery: recovery % is %, only PENDING recoveries can be rejected', v_cur.recovery_bk, v_cur.recovery_status
            USING ERRCODE = '55000', HINT = 'An approved recovery can be stopped with cancel_recovery().';
    END IF;

    PERFORM backup_mgmt.recovery_operation_s_load(p_recovery_hk, jsonb_build_object(
        'recovery_status', 'REJECTED',
        'recovery_end_time', greatest(now(), v_cur.recovery_start_time),
        'approval_date', now(),
        'approval_comment', p_comment,
        'error_message', format('rejected by %s: %s', session_user, p_comment),
        'error_code', 'REJECTED',
        'changed_by', session_user), 'backup_mgmt.reject_recovery');

    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.reject_recovery(bytea, text) IS
'Rejects a PENDING recovery (final: it never runs) with a reason; returns its recovery_list row. Caller: a member of recovery_approver other than the requester (42501). Reason NULL or empty: 22004; over 1000 characters or with control characters (other than line breaks and tabs): 22023; not PENDING: 55000; unknown: P0002.';
