-- Records that a restored copy left running has been stopped and removed.

CREATE OR REPLACE FUNCTION backup_mgmt.restored_copy_removed(p_recovery_hk bytea)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Called by `backup-mgmt recovery remove` after it stopped the copy's server
-- and deleted its directory (the file system is the host's business, the
-- record the catalog's): a new version without restore_port, so
-- recovery_list says kept_running false and offers no connect hint. The
-- restore_directory stays as history. Drills remove their copy themselves.
DECLARE
    v_cur backup_mgmt.recovery_operation_current := backup_mgmt._lock_recovery(p_recovery_hk, 'restored_copy_removed');
BEGIN
    IF v_cur.initiated_by IS DISTINCT FROM session_user AND NOT backup_mgmt._is_recovery_admin() THEN
        RAISE EXCEPTION 'restored_copy_removed: only % (who requested recovery %) or a member of backup_mgmt_admin may remove its copy', v_cur.initiated_by, v_cur.recovery_bk
            USING ERRCODE = '42501';
    END IF;
    IF coalesce(v_cur.is_drill, false) THEN
        RAISE EXCEPTION 'restored_copy_removed: % is a restore drill, which removes its copy itself', v_cur.recovery_bk
            USING ERRCODE = '22023';
    END IF;
    IF v_cur.recovery_status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN
        RAISE EXCEPTION 'restored_copy_removed: recovery % is %', v_cur.recovery_bk, v_cur.recovery_status
            USING ERRCODE = '55000', HINT = 'Cancel a running recovery with cancel_recovery(); the agent removes its directory.';
    END IF;
    IF v_cur.restore_port IS NOT NULL THEN
        PERFORM backup_mgmt.recovery_operation_s_load(p_recovery_hk, jsonb_build_object(
            'restore_port', NULL,
            'changed_by', session_user), 'backup_mgmt.restored_copy_removed');
    END IF;
    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.restored_copy_removed(bytea) IS
'Records that the copy a recovery left running was stopped and its directory deleted (by `backup-mgmt recovery remove`): a new version without restore_port, so recovery_list.kept_running is false. Requester or backup_mgmt_admin (42501); a drill: 22023; not COMPLETED, FAILED or CANCELLED: 55000; unknown: P0002. Returns the recovery_list row; idempotent.';
