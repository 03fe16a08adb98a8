-- Privileges of the disaster-recovery functions (sql/70-dr), after grants.sql:
--   backup_agent       repository_metadata (mirrors the catalog into the repository),
--                      and the catalog sync the agent runs when it starts
--   backup_mgmt_admin  all of them (backup-mgmt catalog sync)
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['repository_metadata', 'import_repository_backup',
    'import_restore_point', 'mark_backup_files_missing', 'record_disaster_recovery']);
SELECT backup_mgmt._grant_execute('backup_mgmt_admin', ARRAY['repository_metadata', 'import_repository_backup',
    'import_restore_point', 'mark_backup_files_missing', 'record_disaster_recovery']);
