-- Writes a new version of one backup's copy in one repository.

CREATE OR REPLACE FUNCTION backup_mgmt._copy_record(p_backup_hk bytea, p_repository text, p_changes jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The copy's hub row (<repository>:<backup key>) and its link to the backup
-- and the repository are created on first use; the satellite loader writes a
-- version only when something changed. Returns whether it did.
DECLARE
    v_bk text;
    v_tenant bytea;
    v_repo_hk bytea := backup_mgmt.hash_key(p_repository);
    v_copy_bk text;
    v_copy_hk bytea;
BEGIN
    SELECT h.backup_bk, h.tenant_hk INTO v_bk, v_tenant FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = p_backup_hk;
    IF NOT FOUND THEN
        RAISE EXCEPTION '_copy_record: no backup with this key' USING ERRCODE = '23503', DETAIL = encode(p_backup_hk, 'hex');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_repository_h AS r WHERE r.repository_hk = v_repo_hk) THEN
        RAISE EXCEPTION '_copy_record: unknown repository %', quote_literal(p_repository)
            USING ERRCODE = '22023', HINT = 'Repositories are reported by the agent (agent_report_repositories).';
    END IF;
    v_copy_bk := p_repository || ':' || v_bk;
    v_copy_hk := backup_mgmt.hash_key(v_copy_bk);
    INSERT INTO backup_mgmt.backup_copy_h (copy_hk, copy_bk, tenant_hk, record_source)
    VALUES (v_copy_hk, v_copy_bk, v_tenant, 'backup_mgmt.copies')
    ON CONFLICT DO NOTHING;
    INSERT INTO backup_mgmt.backup_copy_l (link_backup_copy_hk, copy_hk, backup_hk, repository_hk, tenant_hk, record_source)
    VALUES (backup_mgmt.hash_key(v_copy_bk, v_bk, p_repository), v_copy_hk, p_backup_hk, v_repo_hk, v_tenant, 'backup_mgmt.copies')
    ON CONFLICT DO NOTHING;
    RETURN backup_mgmt.backup_copy_s_load(v_copy_hk, p_changes, 'backup_mgmt.copies');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._copy_record(bytea, text, jsonb) IS
'Internal (repository copies): a new version of the copy of backup p_backup_hk in repository p_repository (hub and link created on first use); returns whether a version was written. Unknown backup 23503, unknown repository 22023.';
