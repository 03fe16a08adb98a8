-- Cancels a queued or running backup.

CREATE OR REPLACE FUNCTION backup_mgmt.cancel_backup(p_backup_hk bytea)
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    duration_seconds numeric,
    verification_status varchar(20),
    error_message text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- PENDING: the job and the backup become CANCELLED at once. RUNNING: the job
-- is marked CANCELLED; the agent learns it from job_progress() = false,
-- aborts, and its fail_job() records the backup CANCELLED (or the lease runs
-- out and claim_job does). Locks the job row before the backup is read, in the
-- same order as the agent functions.
DECLARE
    v_job backup_mgmt.job;
    v_cur backup_mgmt.backup_execution_current;
    v_message text;
BEGIN
    PERFORM backup_mgmt._require_args(p_backup_hk IS NULL, 'cancel_backup', 'p_backup_hk', 'Pass the backup_id returned by create_full_backup().');
    v_job := backup_mgmt._latest_job(p_backup_hk, 'BACKUP');
    SELECT * INTO v_cur FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = p_backup_hk;
    -- Another tenant's backup (or a system one, for a tenant's role) looks missing.
    IF NOT FOUND OR NOT backup_mgmt._visible_to_caller(v_cur.tenant_hk) THEN
        RAISE EXCEPTION 'cancel_backup: no backup with id %', encode(p_backup_hk, 'hex')
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
    v_message := format('cancelled by %s at %s', session_user, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));

    IF NOT backup_mgmt._cancel_job(v_job, v_cur.backup_status, 'PENDING', v_message, 'backup_mgmt.cancel_backup') THEN
        RAISE EXCEPTION 'cancel_backup: backup % is %, there is nothing to cancel', v_cur.backup_bk, v_cur.backup_status
            USING ERRCODE = '55000', HINT = 'Only PENDING and RUNNING backups can be cancelled.';
    END IF;

    RETURN QUERY SELECT * FROM backup_mgmt._backup_status_row(p_backup_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cancel_backup(bytea) IS
'Cancels a backup: PENDING -> CANCELLED at once; RUNNING -> its job is marked CANCELLED, job_progress() returns false to the agent, which aborts and calls fail_job(), and the backup ends CANCELLED (also when the agent''s lease runs out first). Returns the row as create_full_backup does. Other states: 55000; unknown backup: P0002.';
