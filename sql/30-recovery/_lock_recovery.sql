-- Locks a recovery against concurrent decisions and returns its current version.

CREATE OR REPLACE FUNCTION backup_mgmt._lock_recovery(p_recovery_hk bytea, p_caller text)
RETURNS backup_mgmt.recovery_operation_current
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The hub row is locked FOR UPDATE until the caller's transaction ends, so
-- approve, reject and cancel of one recovery run one after another and each
-- sees the other's outcome. NULL: 22004; unknown: P0002.
DECLARE
    v_cur backup_mgmt.recovery_operation_current;
BEGIN
    IF p_recovery_hk IS NULL THEN
        RAISE EXCEPTION '%: p_recovery_hk must not be NULL', p_caller
            USING ERRCODE = '22004', HINT = 'Pass the recovery_id returned by initiate_point_in_time_recovery() or initiate_recovery().';
    END IF;
    PERFORM 1 FROM backup_mgmt.recovery_operation_h AS h WHERE h.recovery_hk = p_recovery_hk FOR UPDATE;
    -- Another tenant's recovery (or a system one, for a tenant's role) looks missing.
    SELECT * INTO v_cur FROM backup_mgmt.recovery_operation_current AS r
     WHERE r.recovery_hk = p_recovery_hk AND backup_mgmt._visible_to_caller(r.tenant_hk);
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: no recovery with id %', p_caller, encode(p_recovery_hk, 'hex')
            USING ERRCODE = 'P0002', HINT = 'List recoveries with SELECT * FROM backup_mgmt.recovery_list.';
    END IF;
    RETURN v_cur;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._lock_recovery(bytea, text) IS
'Internal: locks the recovery''s hub row FOR UPDATE and returns its current version; 22004 for NULL, P0002 if unknown. p_caller names the calling function in messages.';
