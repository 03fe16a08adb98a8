-- Privileges of the schedule functions (sql/40-schedule), applied after
-- grants.sql (admins already get every non-internal function there):
--
--   backup_viewer    get_next_scheduled_backups (runs with the caller's rights,
--                    so tenant row security applies) and the cron evaluator
--   backup_operator  the seed's create_backup_schedule and its siblings, and
--                    run_schedule for a manual run
--   backup_agent     run_due_schedules / run_schedule: agents drive schedules
--                    where pg_cron is absent or lives in another database
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['get_next_scheduled_backups', 'cron_parse', 'cron_next', 'cron_next_n']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['create_backup_schedule', 'alter_backup_schedule', 'pause_backup_schedule',
    'resume_backup_schedule', 'drop_backup_schedule', 'create_default_schedules', 'run_schedule']);
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['run_due_schedules', 'run_schedule']);
