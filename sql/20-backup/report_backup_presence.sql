-- An agent reports whether a stored backup's files are all there.

CREATE OR REPLACE FUNCTION backup_mgmt.report_backup_presence(p_backup_hk bytea, p_present boolean, p_detail text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- The presence check compares names and sizes, not content. Missing (or the
-- wrong size): files_present false, so recoverability and plan_recovery pass
-- the backup over, and verification FAILED with the detail, so health_check's
-- verification check is CRITICAL. Present again: files_present true; the
-- verification stays FAILED until verify_backup_integrity() says otherwise.
-- Only COMPLETED backups change; returns whether a version was written.
DECLARE
    v_cur backup_mgmt.backup_execution_current;
    v_storage backup_mgmt.backup_storage_current;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'report_backup_presence');
    IF p_backup_hk IS NULL OR p_present IS NULL THEN
        RAISE EXCEPTION 'report_backup_presence: p_backup_hk and p_present must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT p_present AND (p_detail IS NULL OR btrim(p_detail) = '') THEN
        RAISE EXCEPTION 'report_backup_presence: missing files need p_detail naming them' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_backup_hk;
    SELECT * INTO v_storage FROM backup_mgmt.backup_storage_current AS s WHERE s.backup_hk = p_backup_hk;
    IF v_cur.backup_hk IS NULL OR v_cur.backup_status <> 'COMPLETED' OR v_storage.backup_hk IS NULL
       OR v_storage.files_present IS NOT DISTINCT FROM p_present THEN
        RETURN false;
    END IF;
    PERFORM backup_mgmt.backup_storage_s_load(p_backup_hk, jsonb_build_object('files_present', p_present),
                                              'backup_mgmt.report_backup_presence');
    IF NOT p_present THEN
        PERFORM backup_mgmt.backup_execution_s_load(p_backup_hk, jsonb_build_object(
            'verification_status', 'FAILED', 'verification_date', now(), 'integrity_verified', false,
            'verification_detail', left('stored files missing (presence check): ' || p_detail, 2000),
            'changed_by', session_user), 'backup_mgmt.report_backup_presence');
    END IF;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.report_backup_presence(bytea, boolean, text) IS
'Agent protocol: the presence check (names and sizes of stored_files) found a COMPLETED backup''s files missing (p_present false, p_detail naming them: files_present false, verification FAILED with the detail; planning and the window skip it, health_check''s verification check is CRITICAL) or present again (files_present true; re-verify to trust it). Returns whether anything changed. NULL input 22004.';
