-- Privileges of the policy functions (sql/70-policy) and of
-- set_schedule_notifications, applied after grants.sql (admins already get
-- every non-internal function there, policy_apply included: it changes
-- settings, which only admins may):
--
--   backup_viewer    policy_plan: a CI job can gate on the plan with a read-only role
--   backup_operator  set_schedule_notifications, beside the other schedule setters
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['policy_plan']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['set_schedule_notifications']);
