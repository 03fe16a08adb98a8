-- The stored WAL files of a cluster that are known damaged.

CREATE OR REPLACE FUNCTION backup_mgmt.corrupt_wal_files(p_system_identifier text)
RETURNS TABLE (file_name text, sha256 text, corrupt_at timestamptz, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The agent re-reads these at every WAL scan to notice a repair.
BEGIN
    -- Agent protocol: system roles only.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'corrupt_wal_files');
    RETURN QUERY
        SELECT w.file_name, w.sha256::text, w.corrupt_at, w.corrupt_detail
          FROM backup_mgmt.wal_archive AS w
         WHERE w.system_identifier = p_system_identifier AND w.corrupt_at IS NOT NULL AND w.purged_at IS NULL
         ORDER BY w.file_name;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.corrupt_wal_files(text) IS
'Agent protocol: registered, not purged WAL files of p_system_identifier marked damaged by report_wal_integrity (name, recorded SHA-256, since when, why), by name.';
