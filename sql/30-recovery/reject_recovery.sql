-- A second person rejects a pending recovery; it will never run.

CREATE OR REPLACE FUNCTION backup_mgmt.reject_recovery(p_recovery_hk bytea, p_comment text)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Same rules as approve_recovery(): a member of recovery_approver other than
-- the initiator decides about a PENDING recovery. REJECTED is final; the
-- reason is required and kept in approval_comment.
DECLARE
    v_cur backup_mgmt.recovery_operation_current := backup_mgmt._decide_recovery(p_recovery_hk, p_comment, false);
BEGIN
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
