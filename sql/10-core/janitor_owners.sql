-- Which leftovers on disk still belong to live work.

CREATE OR REPLACE FUNCTION backup_mgmt.janitor_owners(p_backup_bks text[], p_recovery_bks text[])
RETURNS TABLE (kind text, business_key text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- A staging directory is owned while its backup has a BACKUP job queued
-- or running (a retry clears its predecessor's staging itself). A restore
-- directory is owned while its recovery has a RESTORE job queued or
-- running, waits for approval, or completed and was kept running for the
-- operator. Everything the agent asks about that is not returned is its
-- janitor's to remove.
BEGIN
    -- Agent protocol: system roles only.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'janitor_owners');
    RETURN QUERY
        SELECT 'staging', h.backup_bk::text
          FROM backup_mgmt.backup_execution_h AS h
         WHERE h.backup_bk = ANY (p_backup_bks)
           AND EXISTS (SELECT 1 FROM backup_mgmt.job AS j
                        WHERE j.subject_hk = h.backup_hk AND j.job_type = 'BACKUP' AND j.status IN ('QUEUED', 'RUNNING'))
        UNION ALL
        SELECT 'restore', r.recovery_bk::text
          FROM backup_mgmt.recovery_operation_h AS r
          JOIN backup_mgmt.recovery_operation_current AS c ON c.recovery_hk = r.recovery_hk
         WHERE r.recovery_bk = ANY (p_recovery_bks)
           AND (c.recovery_status IN ('PENDING', 'APPROVED', 'RUNNING')
                OR (c.recovery_status = 'COMPLETED' AND c.restore_port IS NOT NULL)
                OR EXISTS (SELECT 1 FROM backup_mgmt.job AS j
                            WHERE j.subject_hk = r.recovery_hk AND j.job_type = 'RESTORE' AND j.status IN ('QUEUED', 'RUNNING')));
END;
$$;

COMMENT ON FUNCTION backup_mgmt.janitor_owners(text[], text[]) IS
'Agent protocol (janitor): of the backup keys of staging directories and the recovery keys of restore directories found on disk, those still owned by live work: a BACKUP job queued or running; a recovery pending, approved or running, a RESTORE job queued or running, or a COMPLETED recovery kept running. The rest may be removed.';
