-- The row create_incremental_backup() returns (seed 001 columns).

CREATE OR REPLACE FUNCTION backup_mgmt._incremental_status_row(p_backup_hk bytea)
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    base_backup_id bytea,
    changes_captured bigint
)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The current version, with the parent from backup_dependency_l.
    SELECT c.backup_hk, c.backup_status, c.backup_size_bytes,
           (SELECT l.source_backup_hk FROM backup_mgmt.backup_dependency_l AS l
             WHERE l.dependent_backup_hk = c.backup_hk ORDER BY l.load_date LIMIT 1),
           c.changes_captured
      FROM backup_mgmt.backup_execution_current AS c
     WHERE c.backup_hk = p_backup_hk
$$;

COMMENT ON FUNCTION backup_mgmt._incremental_status_row(bytea) IS
'Internal: the seed''s result row of create_incremental_backup (backup_id, backup_status, backup_size_bytes, base_backup_id = the parent, changes_captured) for one backup.';
