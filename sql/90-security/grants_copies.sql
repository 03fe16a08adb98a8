-- Privileges of the repository-copy functions (sql/65-copies), after grants.sql:
--   backup_agent       reports its repositories and WAL lag, claims, reports and
--                      expires copies (the replicator)
--   viewers            read the view backup_copies (grants.sql grants SELECT on every view)
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['agent_report_repositories', 'agent_report_wal_copies',
    'copy_claim', 'copy_report', 'copy_expire_plan', 'copy_wal_purge_plan']);
