-- Privileges of the health functions (sql/50-health), applied after
-- grants.sql (admins already get every non-internal function there):
--
--   backup_viewer  health_check, health_summary, metrics_snapshot: monitoring
--                  (backup-mgmt check, Nagios, psql) needs no more; the
--                  functions are SECURITY DEFINER and read what they need
--   backup_agent   agent_report_storage (repository free space) and
--                  metrics_snapshot for the agent's /metrics endpoint
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['health_check', 'health_summary', 'metrics_snapshot']);
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['agent_report_storage', 'metrics_snapshot']);
