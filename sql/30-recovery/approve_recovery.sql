-- A second person approves a pending recovery; it is queued for the agent.

CREATE OR REPLACE FUNCTION backup_mgmt.approve_recovery(p_recovery_hk bytea, p_comment text DEFAULT NULL)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Four eyes: the caller (session_user; current_user is this function's
-- owner) must be a member of recovery_approver and not the initiator. Only a
-- PENDING recovery can be approved. APPROVED (approved_by, approval_date,
-- approval_comment), then the RESTORE job is queued and the agents notified.
DECLARE
    v_cur backup_mgmt.recovery_operation_current := backup_mgmt._decide_recovery(p_recovery_hk, p_comment, true);
BEGIN
    PERFORM backup_mgmt.recovery_operation_s_load(p_recovery_hk, jsonb_build_object(
        'recovery_status', 'APPROVED',
        'approved_by', session_user,
        'approval_date', now(),
        'approval_comment', p_comment,
        'changed_by', session_user), 'backup_mgmt.approve_recovery');
    PERFORM backup_mgmt._queue_restore_job(p_recovery_hk);

    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.approve_recovery(bytea, text) IS
'Approves a PENDING recovery and queues its RESTORE job; returns its recovery_list row. The caller must be a member of recovery_approver (42501) and not the person who requested it (42501: a different person must approve). A comment over 1000 characters or with control characters (other than line breaks and tabs): 22023. Not PENDING: 55000; base backup or WAL gone since planning: 55000; unknown: P0002.';
