-- Blocks until a backup has reached its outcome.

CREATE OR REPLACE FUNCTION backup_mgmt.await_backup(p_backup_hk bytea, p_timeout interval DEFAULT '1 hour')
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    duration_seconds numeric,
    verification_status varchar(20),
    error_message text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- _await_subject polls with fresh snapshots until the status is final and,
-- for a COMPLETED or PARTIAL backup, the verification is no longer PENDING.
BEGIN
    PERFORM backup_mgmt._await_subject('backup', p_backup_hk, p_timeout, 'create_full_backup()');
    RETURN QUERY SELECT * FROM backup_mgmt._backup_status_row(p_backup_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.await_backup(bytea, interval) IS
'Waits (polling every 0.2 s with fresh snapshots; call it in READ COMMITTED after the request was committed) until the backup is COMPLETED/FAILED/CANCELLED/PARTIAL/EXPIRED and, when a verification was requested, verified; returns the same row as create_full_backup. Timeout: SQLSTATE 57014 naming the backup and its status; unknown backup: P0002.';
