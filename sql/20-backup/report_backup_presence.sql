-- An agent reports whether a stored backup's files are all there, unchanged in size.

CREATE OR REPLACE FUNCTION backup_mgmt.report_backup_presence(p_backup_hk bytea, p_missing text DEFAULT NULL, p_changed text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The presence check compares names and sizes, not content. p_missing names
-- files that are gone: files_present false, so recoverability and
-- plan_recovery pass the backup over. p_changed names files whose size
-- changed: they are there (verify_backup_integrity can still judge them),
-- but the backup is no longer the one verified. Either way verification
-- becomes FAILED with the detail (health_check's verification check is
-- CRITICAL; planning wants VERIFIED), unless it already is FAILED. Nothing
-- missing any more: files_present true again; the verification stays FAILED
-- until verify_backup_integrity() says otherwise. Only COMPLETED backups
-- change; returns whether a version was written.
DECLARE
    v_cur backup_mgmt.backup_execution_current;
    v_storage backup_mgmt.backup_storage_current;
    v_changed boolean := false;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'report_backup_presence');
    IF p_backup_hk IS NULL THEN
        RAISE EXCEPTION 'report_backup_presence: p_backup_hk must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- NULL means "nothing to report"; a blank report would mark the backup without saying why.
    IF p_missing !~ '[^[:space:]]' OR p_changed !~ '[^[:space:]]' THEN
        RAISE EXCEPTION 'report_backup_presence: p_missing and p_changed are NULL or name the files'
            USING ERRCODE = '22023', HINT = 'Pass NULL when every stored file is there with its size.';
    END IF;
    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_backup_hk;
    SELECT * INTO v_storage FROM backup_mgmt.backup_storage_current AS s WHERE s.backup_hk = p_backup_hk;
    IF v_cur.backup_hk IS NULL OR v_cur.backup_status <> 'COMPLETED' OR v_storage.backup_hk IS NULL THEN
        RETURN false;
    END IF;
    IF (p_missing IS NOT NULL) IS DISTINCT FROM (v_storage.files_present IS FALSE) THEN
        PERFORM backup_mgmt.backup_storage_s_load(p_backup_hk, jsonb_build_object('files_present', p_missing IS NULL),
                                                  'backup_mgmt.report_backup_presence');
        v_changed := true;
    END IF;
    IF coalesce(p_missing, p_changed) IS NOT NULL AND v_cur.verification_status IS DISTINCT FROM 'FAILED' THEN
        PERFORM backup_mgmt.backup_execution_s_load(p_backup_hk, jsonb_build_object(
            'verification_status', 'FAILED', 'verification_date', now(), 'integrity_verified', false,
            'verification_detail', left(concat_ws('; ', 'stored files missing (presence check): ' || p_missing,
                                                        'stored files changed size (presence check): ' || p_changed), 2000),
            'changed_by', session_user), 'backup_mgmt.report_backup_presence');
        v_changed := true;
    END IF;
    RETURN v_changed;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.report_backup_presence(bytea, text, text) IS
'Agent protocol: what the presence check (names and sizes of stored_files) found for a COMPLETED backup: p_missing names missing files (files_present false: planning and the window skip it), p_changed files whose size changed; either makes verification FAILED with the detail (unless already FAILED), so health_check''s verification check is CRITICAL. Both NULL after files were missing: files_present true again (re-verify to trust it). Returns whether anything changed. NULL p_backup_hk 22004; a blank p_missing or p_changed 22023.';
