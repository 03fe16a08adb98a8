-- The shared helpers behind get_backup and get_recovery (not SECURITY
-- DEFINER: they run with the caller's rights), for the roles that call those.
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['_get_subject', '_subject_key']);
SELECT backup_mgmt._grant_execute('backup_mgmt_admin', ARRAY['_get_subject', '_subject_key']);
