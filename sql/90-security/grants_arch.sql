-- The shared id resolver of get_backup and get_recovery (not SECURITY
-- DEFINER: it runs with the caller's rights), for the roles that call those.
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['_subject_hk']);
SELECT backup_mgmt._grant_execute('backup_mgmt_admin', ARRAY['_subject_hk']);
