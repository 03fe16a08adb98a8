-- Privileges of the retention functions (sql/60-retention), applied after
-- grants.sql (admins already get every non-internal function there):
--
--   backup_viewer    cleanup_plan (the dry run with reasons) and retention_policy
--   backup_operator  the seed's cleanup_expired_backups (dry run and real run)
--                    and set_schedule_retention (operators define schedules)
--
-- The agent needs nothing new: DELETE jobs are claimed and completed through
-- claim_job / complete_job like every other job.
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['cleanup_plan', 'retention_policy']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['cleanup_expired_backups', 'set_schedule_retention']);
