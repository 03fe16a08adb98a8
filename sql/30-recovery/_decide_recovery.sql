-- Checks that the caller may approve or reject a recovery, and locks it.

CREATE OR REPLACE FUNCTION backup_mgmt._decide_recovery(p_recovery_hk bytea, p_comment text, p_approve boolean)
RETURNS backup_mgmt.recovery_operation_current
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The four-eyes rules approve_recovery (p_approve) and reject_recovery
-- share: the caller (session_user; current_user is the definer) must be a
-- member of recovery_approver (42501) and not the initiator (42501); a
-- rejection needs a reason (22004); the comment is at most 1000 characters
-- without control characters (22023); only a PENDING recovery (55000).
-- Returns the locked recovery's current row.
DECLARE
    v_caller text := CASE WHEN p_approve THEN 'approve_recovery' ELSE 'reject_recovery' END;
    v_cur backup_mgmt.recovery_operation_current;
BEGIN
    IF NOT pg_has_role(session_user, 'recovery_approver', 'MEMBER') THEN
        RAISE EXCEPTION '%: % may not %', v_caller, session_user, CASE WHEN p_approve THEN 'approve recoveries' ELSE 'decide about recoveries' END
            USING ERRCODE = '42501',
                  DETAIL = format('%s needs membership in recovery_approver.', CASE WHEN p_approve THEN 'Approving' ELSE 'Rejecting' END),
                  HINT = CASE WHEN p_approve THEN 'Ask a member of recovery_approver to approve it.'
                              ELSE 'The requester can withdraw it with cancel_recovery().' END;
    END IF;
    IF NOT p_approve AND (p_comment IS NULL OR btrim(p_comment) = '') THEN
        RAISE EXCEPTION 'reject_recovery: p_comment must give the reason'
            USING ERRCODE = '22004', HINT = 'The requester reads it in recovery_list.approval_comment.';
    END IF;
    IF length(p_comment) > 1000 OR p_comment ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN
        RAISE EXCEPTION '%: p_comment must be at most 1000 characters without control characters', v_caller
            USING ERRCODE = '22023', DETAIL = format('length: %s', length(p_comment)), HINT = 'Line breaks and tabs are fine.';
    END IF;
    v_cur := backup_mgmt._lock_recovery(p_recovery_hk, v_caller);
    IF v_cur.initiated_by = session_user THEN
        RAISE EXCEPTION '%: % requested recovery % and cannot %', v_caller, session_user, v_cur.recovery_bk,
                        CASE WHEN p_approve THEN 'approve it: a different person must approve'
                             ELSE 'decide about it: a different person must' END
            USING ERRCODE = '42501',
                  HINT = CASE WHEN p_approve THEN 'Ask another member of recovery_approver.'
                              ELSE 'Withdraw your own request with cancel_recovery().' END;
    END IF;
    IF v_cur.recovery_status <> 'PENDING' THEN
        RAISE EXCEPTION '%: recovery % is %, only PENDING recoveries can be %', v_caller, v_cur.recovery_bk, v_cur.recovery_status,
                        CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END
            USING ERRCODE = '55000',
                  HINT = CASE WHEN p_approve THEN 'See SELECT * FROM backup_mgmt.get_recovery(''' || v_cur.recovery_bk || ''').'
                              ELSE 'An approved recovery can be stopped with cancel_recovery().' END;
    END IF;
    RETURN v_cur;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._decide_recovery(bytea, text, boolean) IS
'Internal (approve_recovery, reject_recovery): the four-eyes checks (42501 not an approver or the requester, 22004 no reason for a rejection, 22023 bad comment, 55000 not PENDING, P0002 unknown) and the locked recovery''s current row.';
