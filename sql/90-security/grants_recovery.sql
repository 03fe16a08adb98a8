-- Privileges of the recovery and incremental functions, applied after
-- grants.sql (which first takes everything away, grants SELECT on every table
-- and view to viewers and admins, and EXECUTE on every non-internal function
-- to admins). Here, by function name (every overload):
--
--   backup_viewer      plan_recovery, recoverable_window, get_recovery and the
--                      WAL name helpers (the recoverability view calls them
--                      with the reader's rights)
--   backup_operator    create_incremental_backup, create_restore_point,
--                      initiate_point_in_time_recovery, initiate_recovery,
--                      create_restore_drill, cancel_recovery, await_recovery
--   recovery_approver  approve_recovery, reject_recovery, await_recovery
--   backup_agent       sync_wal_presence (the agent's WAL registry rescan)
--   backup_mgmt_admin  all of the above
--
-- Skipping approval is checked inside the functions (backup_mgmt_admin),
-- and so is "a different person must approve".

SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['plan_recovery', 'recoverable_window', 'get_recovery',
    'wal_segno', 'wal_segno_of_lsn', 'wal_file_name', 'wal_segment_start_lsn']);
SELECT backup_mgmt._grant_execute('backup_operator', ARRAY['create_incremental_backup', 'create_restore_point',
    'initiate_point_in_time_recovery', 'initiate_recovery', 'create_restore_drill', 'cancel_recovery', 'await_recovery']);
SELECT backup_mgmt._grant_execute('recovery_approver', ARRAY['approve_recovery', 'reject_recovery', 'await_recovery']);
SELECT backup_mgmt._grant_execute('backup_mgmt_admin', ARRAY['plan_recovery', 'recoverable_window', 'get_recovery',
    'wal_segno', 'wal_segno_of_lsn', 'wal_file_name', 'wal_segment_start_lsn',
    'create_incremental_backup', 'create_restore_point', 'initiate_point_in_time_recovery',
    'initiate_recovery', 'create_restore_drill', 'cancel_recovery', 'await_recovery',
    'approve_recovery', 'reject_recovery']);
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['sync_wal_presence']);
