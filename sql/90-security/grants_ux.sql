-- Privileges of the operator-experience functions (issue #13), applied after
-- grants.sql (admins get every non-internal function there):
--
--   backup_viewer, backup_operator  agent_status: whoever waits for a job may know whether an
--                  agent is alive to run it
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['agent_status']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['agent_status']);
--   backup_operator  restored_copy_removed: who may cancel a recovery (its
--                  requester) may record that its copy was removed
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['restored_copy_removed']);
--   backup_mgmt_admin  all three, and register_cron_jobs (migrate up and setup --apply call it)
SELECT backup_mgmt._grant_execute('backup_mgmt_admin', ARRAY['agent_status', 'restored_copy_removed', 'register_cron_jobs']);
