-- Records the outcome of a backup's verification.

CREATE OR REPLACE FUNCTION backup_mgmt._record_verification(p_backup_hk bytea, p_status text, p_at timestamptz, p_detail text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- A version of its own, after the completion: a failed verification does
-- not make a completed backup FAILED.
BEGIN
    PERFORM backup_mgmt.backup_execution_s_load(p_backup_hk, jsonb_build_object(
        'verification_status', p_status,
        'verification_date', p_at,
        'verification_detail', p_detail,
        'integrity_verified', p_status = 'VERIFIED',
        'changed_by', session_user), 'backup_mgmt.complete_job');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._record_verification(bytea, text, timestamptz, text) IS
'Internal (complete_job''s BACKUP and VERIFY handlers): a backup_execution_s version with the verification outcome (VERIFIED or FAILED), its date and detail; integrity_verified = (status = VERIFIED).';
