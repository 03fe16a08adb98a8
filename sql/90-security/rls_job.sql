-- Row-level security on the job queue: a job is visible when its subject is.
--
-- job.subject_hk is a backup or a recovery (no foreign key: one column for
-- both hubs), so its policy is written here: for a role bound to a tenant, a
-- job is visible when the backup or recovery it works on is (the hubs' own
-- policies apply inside the EXISTS). Plans name repository paths and chains:
-- other tenants' and system jobs stay hidden. Unrestricted callers (system
-- roles, the pack's SECURITY DEFINER functions) skip the test.
SELECT backup_mgmt._apply_row_security('job', 'tenant_isolation',
    '(SELECT backup_mgmt._tenant_scope(CURRENT_USER)) IS NULL'
    || ' OR EXISTS (SELECT 1 FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = job.subject_hk)'
    || ' OR EXISTS (SELECT 1 FROM backup_mgmt.recovery_operation_h AS h WHERE h.recovery_hk = job.subject_hk)',
    'Tenant isolation: a job is visible when the backup or recovery it works on is.');
