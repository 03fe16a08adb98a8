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
--   backup_mgmt_admin  all of the above
--
-- Skipping approval is checked inside the functions (backup_mgmt_admin),
-- and so is "a different person must approve".

DO $$
DECLARE
    v_grant record;
    v_fn record;
BEGIN
    FOR v_grant IN
        SELECT g.role_name, g.names
          FROM (VALUES
            ('backup_viewer', ARRAY['plan_recovery', 'recoverable_window', 'get_recovery',
                                    'wal_segno', 'wal_segno_of_lsn', 'wal_file_name', 'wal_segment_start_lsn']),
            ('backup_operator', ARRAY['create_incremental_backup', 'create_restore_point', 'initiate_point_in_time_recovery',
                                      'initiate_recovery', 'create_restore_drill', 'cancel_recovery', 'await_recovery']),
            ('recovery_approver', ARRAY['approve_recovery', 'reject_recovery', 'await_recovery']),
            ('backup_mgmt_admin', ARRAY['plan_recovery', 'recoverable_window', 'get_recovery',
                                        'wal_segno', 'wal_segno_of_lsn', 'wal_file_name', 'wal_segment_start_lsn',
                                        'create_incremental_backup', 'create_restore_point', 'initiate_point_in_time_recovery',
                                        'initiate_recovery', 'create_restore_drill', 'cancel_recovery', 'await_recovery',
                                        'approve_recovery', 'reject_recovery'])
          ) AS g (role_name, names)
    LOOP
        FOR v_fn IN
            SELECT p.oid::pg_catalog.regprocedure AS sig FROM pg_catalog.pg_proc AS p
              JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
             WHERE n.nspname = 'backup_mgmt' AND p.proname = ANY (v_grant.names)
        LOOP
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', v_fn.sig, v_grant.role_name);
        END LOOP;
    END LOOP;
END;
$$;
