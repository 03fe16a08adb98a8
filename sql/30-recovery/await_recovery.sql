-- Blocks until a recovery has reached its outcome.

CREATE OR REPLACE FUNCTION backup_mgmt.await_recovery(p_recovery_hk bytea, p_timeout interval DEFAULT '1 hour')
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- _await_subject polls with fresh snapshots until COMPLETED, FAILED,
-- CANCELLED or REJECTED; a recovery waiting for approval times out like a
-- running one.
BEGIN
    PERFORM backup_mgmt._await_subject('recovery', p_recovery_hk, p_timeout, 'initiate_recovery()');
    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.await_recovery(bytea, interval) IS
'Waits (polling every 0.2 s with fresh snapshots; call it in READ COMMITTED after the request was committed) until the recovery is COMPLETED, FAILED, CANCELLED or REJECTED and returns its recovery_list row. Timeout: SQLSTATE 57014 naming the recovery and its status (PENDING = still waiting for approval); unknown recovery: P0002.';
