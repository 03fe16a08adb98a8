-- The stored full backups an agent's presence check looks at.

CREATE OR REPLACE FUNCTION backup_mgmt.stored_backups(p_repository_root text)
RETURNS TABLE (backup_hk bytea, backup_bk text, repository_path text, stored_files jsonb, files_present boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- COMPLETED full backups under the root whose storage row lists files,
-- including those already marked missing (they may come back). A DELETE
-- job queued or running owns its backup's files: those are left out.
BEGIN
    -- Agent protocol: system roles only.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'stored_backups');
    RETURN QUERY
        SELECT c.backup_hk, c.backup_bk::text, st.repository_path, st.stored_files, st.files_present
          FROM backup_mgmt.backup_execution_current AS c
          JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
         WHERE c.backup_status = 'COMPLETED' AND c.backup_type = 'FULL'
           AND st.repository_path IS NOT NULL AND jsonb_typeof(st.stored_files) = 'array'
           AND (st.repository_root = p_repository_root OR st.repository_path LIKE p_repository_root || '/%')
           AND NOT EXISTS (SELECT 1 FROM backup_mgmt.job AS j
                            WHERE j.subject_hk = c.backup_hk AND j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING'))
           -- Removed from this repository by its own retention (sql/65-copies): kept off-host.
           AND NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_copy_l AS cl
                             JOIN backup_mgmt.backup_copy_current AS cc ON cc.copy_hk = cl.copy_hk
                            WHERE cl.backup_hk = c.backup_hk AND cl.repository_hk = backup_mgmt.hash_key('local') AND cc.copy_status = 'EXPIRED')
         ORDER BY c.backup_bk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.stored_backups(text) IS
'Agent protocol: COMPLETED full backups stored under p_repository_root (backup_hk, backup_bk, repository_path, stored_files [{name, bytes, sha256}], files_present), except those a queued or running DELETE job owns or whose local copy expired (retention.local_full_backups): what the agent''s presence check compares with the repository (names and sizes).';
