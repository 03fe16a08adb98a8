-- The requester (or an admin) withdraws a recovery or stops a running one.

CREATE OR REPLACE FUNCTION backup_mgmt.cancel_recovery(p_recovery_hk bytea)
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- PENDING: CANCELLED at once. APPROVED (job queued): job and recovery
-- CANCELLED at once. RUNNING: the job is marked CANCELLED; the agent learns
-- it from job_progress() = false, stops the restored server, removes the
-- directory and acknowledges with fail_job(), and the recovery ends CANCELLED
-- (also when its lease runs out first). See _cancel_subject.
BEGIN
    PERFORM backup_mgmt._cancel_subject('recovery', p_recovery_hk);
    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cancel_recovery(bytea) IS
'Cancels a recovery: PENDING or APPROVED (job queued) -> CANCELLED at once; RUNNING -> its job is marked CANCELLED, job_progress() returns false to the agent, which stops and removes the restore and calls fail_job(), and the recovery ends CANCELLED (also when the lease runs out first). Only the requester or a member of backup_mgmt_admin (42501). Other states: 55000; unknown: P0002. Returns the recovery_list row.';
