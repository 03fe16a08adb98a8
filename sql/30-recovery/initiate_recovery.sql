-- Requests a recovery to any kind of target, into a chosen directory.

CREATE OR REPLACE FUNCTION backup_mgmt.initiate_recovery(
    p_target_kind text,
    p_target_value text,
    p_restore_directory text DEFAULT NULL,
    p_approval_required boolean DEFAULT true,
    p_backup_hk bytea DEFAULT NULL
)
RETURNS TABLE (
    recovery_id bytea,
    recovery_status varchar(20),
    estimated_duration_minutes integer,
    approval_required boolean,
    backup_source_id bytea,
    recovery_bk varchar(255),
    restore_directory text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The sibling of initiate_point_in_time_recovery() for every target kind of
-- plan_recovery(); same approval rules, plus a restore directory of choice.
DECLARE
    v_hk bytea;
BEGIN
    v_hk := backup_mgmt._initiate_recovery(p_target_kind, p_target_value, p_restore_directory, p_approval_required,
                                           p_backup_hk, 'POINT_IN_TIME', 'FULL_DATABASE', false);
    RETURN QUERY
        SELECT s.recovery_id, s.recovery_status, s.estimated_duration_minutes, s.approval_required, s.backup_source_id,
               r.recovery_bk, r.restore_directory
          FROM backup_mgmt._recovery_status_row(v_hk) AS s
          JOIN backup_mgmt.recovery_operation_current AS r ON r.recovery_hk = s.recovery_id;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.initiate_recovery(text, text, text, boolean, bytea) IS
'Requests a recovery of the cluster to a target of plan_recovery() (kinds time, xid, lsn, name, immediate, latest; p_backup_hk optionally fixes the base backup) into p_restore_directory (NULL = <restore root>/<recovery key>; otherwise a new directory strictly inside setting restore.root or an agent''s restore root, never the running cluster''s data directory or tablespaces: 22023). Returns the seed''s row plus recovery_bk and restore_directory. PENDING until approve_recovery() by a different member of recovery_approver; p_approval_required => false only for backup_mgmt_admin (42501) and queues the RESTORE job at once (APPROVED). Refusals write nothing: see plan_recovery() for the target checks.';
