-- Queues a restore drill: prove a backup restores, measure how long it takes.

CREATE OR REPLACE FUNCTION backup_mgmt.create_restore_drill(p_backup_hk bytea DEFAULT NULL)
RETURNS TABLE (
    recovery_id bytea,
    recovery_status varchar(20),
    backup_source_id bytea
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Target immediate (the end of the backup), no approval: a drill restores
-- into a directory of its own under the restore root, validates and removes
-- it; production is never touched. Unverified backups may be drilled too: a
-- drill of a corrupted backup must run and record its failure on the backup.
DECLARE
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_backup bytea := p_backup_hk;
    v_hk bytea;
BEGIN
    IF v_backup IS NULL THEN
        SELECT c.backup_hk INTO v_backup
          FROM backup_mgmt.backup_execution_current AS c
          JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
          LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
         WHERE c.backup_type = 'FULL' AND c.backup_status = 'COMPLETED' AND st.files_present IS NOT FALSE
           AND l.system_identifier = v_sysid AND l.stop_lsn IS NOT NULL
         ORDER BY c.backup_end_time DESC NULLS LAST, l.stop_lsn DESC, c.backup_bk DESC
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'create_restore_drill: there is no completed full backup of this cluster to drill'
                USING ERRCODE = '55000',
                      HINT = 'take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()';
        END IF;
    END IF;

    v_hk := backup_mgmt._initiate_recovery('immediate', NULL, NULL, false, v_backup, 'RESTORE_DRILL', 'FULL_DATABASE', true);
    RETURN QUERY SELECT s.recovery_id, s.recovery_status, s.backup_source_id FROM backup_mgmt._recovery_status_row(v_hk) AS s;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.create_restore_drill(bytea) IS
'Queues a restore drill of p_backup_hk (default: the newest COMPLETED full backup of this cluster, verified or not) and returns (recovery_id, recovery_status APPROVED, backup_source_id): the agent restores it to its end (target immediate) into <restore root>/<recovery key>, starts it, validates, stops and removes it, and the outcome sets the backup''s recovery_tested, recovery_test_date, recovery_test_success and recovery_test_duration_seconds. No approval (production is never touched). No completed full backup: 55000; an incremental, not COMPLETED or files removed: 22023/55000; unknown: P0002.';
