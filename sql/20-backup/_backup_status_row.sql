-- The row create_full_backup(), await_backup() and cancel_backup() return.

CREATE OR REPLACE FUNCTION backup_mgmt._backup_status_row(p_backup_hk bytea)
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    duration_seconds numeric,
    verification_status varchar(20),
    error_message text
)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The seed's result columns, read from the current satellite version.
    SELECT c.backup_hk, c.backup_status, c.backup_size_bytes, c.backup_duration_seconds,
           c.verification_status, c.error_message
      FROM backup_mgmt.backup_execution_current AS c
     WHERE c.backup_hk = p_backup_hk
$$;

COMMENT ON FUNCTION backup_mgmt._backup_status_row(bytea) IS
'Internal: the seed''s result row (backup_id, backup_status, backup_size_bytes, duration_seconds, verification_status, error_message) of one backup''s current version.';
