-- Requests a re-verification of a stored backup (seed 001 signature).

CREATE OR REPLACE FUNCTION backup_mgmt.verify_backup_integrity(p_backup_hk bytea)
RETURNS TABLE (
    backup_id bytea,
    verification_status varchar(20),
    integrity_verified boolean,
    checksum_valid boolean,
    error_message text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The agent checks what is in storage now against the backup manifest's
-- checksums; here a VERIFY job is queued for a COMPLETED backup whose files
-- are present, verification_status becomes PENDING, and the row is returned.
-- A verification already queued or running is returned instead of a second.
DECLARE
    v_cur backup_mgmt.backup_execution_current;
    v_storage backup_mgmt.backup_storage_current;
    v_job_id bigint;
BEGIN
    PERFORM backup_mgmt._require_args(p_backup_hk IS NULL, 'verify_backup_integrity', 'p_backup_hk', 'Pass the backup_id of a COMPLETED backup (see backup_mgmt.backup_list).');
    -- (7346222, hash of the key): one verification request per backup at a time.
    PERFORM pg_advisory_xact_lock(7346222, hashtext(encode(p_backup_hk, 'hex')));

    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_backup_hk;
    -- Another tenant's backup (or a system one, for a tenant's role) looks missing.
    IF NOT FOUND OR NOT backup_mgmt._visible_to_caller(v_cur.tenant_hk) THEN
        RAISE EXCEPTION 'verify_backup_integrity: no backup with id %', encode(p_backup_hk, 'hex')
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
    IF v_cur.backup_status <> 'COMPLETED' THEN
        RAISE EXCEPTION 'verify_backup_integrity: backup % is %, only COMPLETED backups can be verified', v_cur.backup_bk, v_cur.backup_status
            USING ERRCODE = '55000', HINT = 'Wait for the backup with backup_mgmt.await_backup().';
    END IF;
    IF v_cur.backup_type <> 'FULL' THEN
        -- A WAL-range incremental stores no files of its own: its proof is the archived WAL.
        RAISE EXCEPTION 'verify_backup_integrity: backup % is an % backup; only full backups have stored files to verify', v_cur.backup_bk, v_cur.backup_type
            USING ERRCODE = '0A000', HINT = 'Its WAL range was checked when it was taken; verify its full backup instead.';
    END IF;
    SELECT * INTO v_storage FROM backup_mgmt.backup_storage_current AS s WHERE s.backup_hk = p_backup_hk;
    IF NOT FOUND OR v_storage.files_present IS NOT TRUE OR v_storage.repository_path IS NULL THEN
        RAISE EXCEPTION 'verify_backup_integrity: the files of backup % are not present', v_cur.backup_bk
            USING ERRCODE = '55000', DETAIL = 'Retention removed them, or the backup never stored any.',
                  HINT = 'Verify another backup; see backup_mgmt.backup_list.files_present.';
    END IF;

    -- Retention already queued its deletion: a verification behind it would
    -- only rewrite the expired backup's history as FAILED.
    SELECT j.job_id INTO v_job_id FROM backup_mgmt.job AS j
     WHERE j.subject_hk = p_backup_hk AND j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'verify_backup_integrity: backup % is being deleted (DELETE job % is queued or running)', v_cur.backup_bk, v_job_id
            USING ERRCODE = '55000', DETAIL = 'cleanup_expired_backups() queued its deletion; an EXPIRED backup cannot be verified either.',
                  HINT = 'Verify another backup; see backup_mgmt.backup_list.';
    END IF;
    v_job_id := NULL;

    IF NOT EXISTS (SELECT 1 FROM backup_mgmt.job AS j
                    WHERE j.subject_hk = p_backup_hk AND j.job_type = 'VERIFY' AND j.status IN ('QUEUED', 'RUNNING')) THEN
        INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, max_attempts, created_by)
        VALUES ('VERIFY', p_backup_hk,
                jsonb_build_object('kind', 'verify', 'backup_hk', encode(p_backup_hk, 'hex'),
                                   'backup_bk', v_cur.backup_bk, 'repository_path', v_storage.repository_path),
                5, backup_mgmt.setting('job.max_attempts')::integer, session_user)
        RETURNING job_id INTO v_job_id;

        PERFORM backup_mgmt.backup_execution_s_load(p_backup_hk, jsonb_build_object(
            'verification_status', 'PENDING',
            'verification_date', NULL,
            'verification_detail', NULL,
            'integrity_verified', NULL,
            'changed_by', session_user), 'backup_mgmt.verify_backup_integrity');
        PERFORM pg_notify('backup_mgmt_jobs', v_job_id::text);
    END IF;

    RETURN QUERY
        SELECT c.backup_hk, c.verification_status, c.integrity_verified, c.integrity_verified,
               CASE WHEN c.verification_status = 'FAILED' THEN c.verification_detail ELSE c.error_message END
          FROM backup_mgmt.backup_execution_current AS c
         WHERE c.backup_hk = p_backup_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.verify_backup_integrity(bytea) IS
'Queues a VERIFY job (the agent checks the stored files against the backup manifest''s SHA-256 checksums) for a COMPLETED backup whose files are present, sets verification_status PENDING and returns the row; await_backup() waits for the outcome. A verification already queued or running is reused. A backup whose DELETE job is queued or running is refused (55000), like an EXPIRED one. Not COMPLETED or files gone: 55000; unknown backup: P0002.';
