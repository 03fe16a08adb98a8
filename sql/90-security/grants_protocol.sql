-- The job table's CHECK (chk_job_type) calls _job_types(). The planner folds
-- that immutable call with the reader's rights when it examines constraints
-- (constraint_exclusion = partition does so for UNION ALL branches), so every
-- pack role that may read backup_mgmt.job needs EXECUTE on it. It returns a
-- constant list and reveals nothing.
SELECT backup_mgmt._grant_execute(v_role, ARRAY['_job_types'])
  FROM unnest(ARRAY['backup_viewer', 'backup_operator', 'recovery_approver', 'backup_agent', 'backup_mgmt_admin']) AS v_role;
