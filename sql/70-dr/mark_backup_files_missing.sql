-- Catalog sync: a backup whose files are no longer in the repository.

CREATE OR REPLACE FUNCTION backup_mgmt.mark_backup_files_missing(p_backup_hk bytea)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- files_present false keeps it out of every plan; the history stays.
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'mark_backup_files_missing');
    IF p_backup_hk IS NULL THEN
        RAISE EXCEPTION 'mark_backup_files_missing: p_backup_hk must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_storage_s AS st
                    WHERE st.backup_hk = p_backup_hk AND st.load_end_date IS NULL) THEN
        RAISE EXCEPTION 'mark_backup_files_missing: backup % stored nothing', encode(p_backup_hk, 'hex') USING ERRCODE = 'P0002';
    END IF;
    -- Gone from the local repository on purpose (retention.local_full_backups): it is kept off-host.
    IF EXISTS (SELECT 1 FROM backup_mgmt.backup_copy_l AS cl JOIN backup_mgmt.backup_copy_current AS cc ON cc.copy_hk = cl.copy_hk
                WHERE cl.backup_hk = p_backup_hk AND cl.repository_hk = backup_mgmt.hash_key('local') AND cc.copy_status = 'EXPIRED') THEN
        RETURN false;
    END IF;
    RETURN backup_mgmt.backup_storage_s_load(p_backup_hk, jsonb_build_object('files_present', false), 'backup_mgmt.catalog_sync');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.mark_backup_files_missing(bytea) IS
'Catalog sync (disaster recovery): marks a backup whose directory is gone from the repository files_present = false (no plan uses it any more); returns whether a version was written (not for a backup whose local copy expired on purpose: it is kept off-host). Unknown or never stored: P0002.';
