-- Privileges of the operator-experience functions (issue #13), applied after
-- grants.sql (admins get every non-internal function there):
--
--   backup_viewer, backup_operator  agent_status: whoever waits for a job may know whether an
--                  agent is alive to run it
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['agent_status']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['agent_status']);
