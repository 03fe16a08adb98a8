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
-- out and claim_job does). See _cancel_subject.
BEGIN
    PERFORM backup_mgmt._cancel_subject('backup', p_backup_hk);
    RETURN QUERY SELECT * FROM backup_mgmt._backup_status_row(p_backup_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cancel_backup(bytea) IS
'Cancels a backup: PENDING -> CANCELLED at once; RUNNING -> its job is marked CANCELLED, job_progress() returns false to the agent, which aborts and calls fail_job(), and the backup ends CANCELLED (also when the agent''s lease runs out first). Returns the row as create_full_backup does. Other states: 55000; unknown backup: P0002.';
