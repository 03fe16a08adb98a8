-- Privileges of the reliability functions (issue #19), applied after grants.sql:
--
--   backup_agent   agent_take_over (an agent frees the id of its dead
--                  predecessor on the same host)
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['agent_take_over']);
--   backup_agent   report_wal_integrity, corrupt_wal_files (damaged stored WAL
--                  is a gap until repaired)
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['report_wal_integrity', 'corrupt_wal_files']);
--   backup_agent   stored_backups, report_backup_presence (the periodic
--                  presence check of stored backup files)
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['stored_backups', 'report_backup_presence']);
--   backup_agent   janitor_owners, agent_report_leftovers (the janitor of
--                  staging and restore directories no live job owns)
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['janitor_owners', 'agent_report_leftovers']);
