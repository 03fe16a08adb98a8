-- Hands an approved recovery (or a drill) to the agents.

CREATE OR REPLACE FUNCTION backup_mgmt._queue_restore_job(p_recovery_hk bytea)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The job's plan is the recorded recovery plan plus what the agent needs to
-- run it (PROTOCOL.md "RESTORE job"). Between planning and approval the base
-- backup or its WAL may have gone (retention): then 55000 and nothing queued.
-- Recoveries run before drills (priority 3 vs 7). Returns the job id.
DECLARE
    v_cur backup_mgmt.recovery_operation_current;
    v_base backup_mgmt.backup_execution_current;
    v_files boolean;
    v_sysid text;
    v_tl integer;
    v_missing bigint;
    v_plan jsonb;
    v_job_id bigint;
BEGIN
    SELECT * INTO v_cur FROM backup_mgmt.recovery_operation_current AS r WHERE r.recovery_hk = p_recovery_hk;
    IF NOT FOUND OR v_cur.plan IS NULL THEN
        RAISE EXCEPTION '_queue_restore_job: no planned recovery %', encode(p_recovery_hk, 'hex')
            USING ERRCODE = 'P0002', HINT = 'This is a bug in backup_mgmt.';
    END IF;

    SELECT * INTO v_base FROM backup_mgmt.backup_execution_current AS c WHERE c.backup_hk = v_cur.source_backup_hk;
    SELECT st.files_present INTO v_files FROM backup_mgmt.backup_storage_current AS st WHERE st.backup_hk = v_cur.source_backup_hk;
    IF v_base.backup_status IS DISTINCT FROM 'COMPLETED' OR v_files IS FALSE THEN
        RAISE EXCEPTION 'recovery %: base backup % is no longer available (%)', v_cur.recovery_bk, v_cur.plan->'base'->>'backup_bk',
                        coalesce(v_base.backup_status, 'unknown') || CASE WHEN v_files IS FALSE THEN ', files removed' ELSE '' END
            USING ERRCODE = '55000', HINT = 'Cancel this recovery and request a new one: it will be planned on the backups there are now.';
    END IF;
    IF NOT v_cur.is_drill THEN
        v_sysid := v_cur.plan->'base'->>'system_identifier';
        v_tl := (v_cur.plan->'wal'->>'timeline_id')::integer;
        v_missing := backup_mgmt._wal_first_missing(v_sysid, v_tl,
                                                    backup_mgmt.wal_segno(v_cur.plan->'wal'->>'from_segment'),
                                                    backup_mgmt.wal_segno(v_cur.plan->'wal'->>'to_segment'));
        IF v_missing IS NOT NULL THEN
            RAISE EXCEPTION 'recovery %: WAL segment % is no longer in the archive', v_cur.recovery_bk, backup_mgmt.wal_file_name(v_tl, v_missing)
                USING ERRCODE = '55000', HINT = 'Cancel this recovery and request a new one: it will be planned on the WAL there is now.';
        END IF;
    END IF;

    v_plan := v_cur.plan || jsonb_build_object(
        'kind', 'restore',
        'recovery_hk', encode(p_recovery_hk, 'hex'),
        'recovery_bk', v_cur.recovery_bk,
        'restore_directory', v_cur.restore_directory,
        'drill', coalesce(v_cur.is_drill, false),
        'keep_running', NOT coalesce(v_cur.is_drill, false),
        'validation', jsonb_build_object('compare_table_counts', true));

    INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, max_attempts, created_by)
    VALUES ('RESTORE', p_recovery_hk, v_plan, CASE WHEN v_cur.is_drill THEN 7 ELSE 3 END,
            backup_mgmt.setting('job.max_attempts')::integer, session_user)
    RETURNING job_id INTO v_job_id;
    PERFORM pg_notify('backup_mgmt_jobs', v_job_id::text);
    RETURN v_job_id;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._queue_restore_job(bytea) IS
'Internal: queues the RESTORE job of a recovery (plan = recovery plan + kind restore, recovery_hk, recovery_bk, restore_directory, drill, keep_running, validation) and notifies the agents; 55000 if the base backup or, except for drills, the planned WAL is no longer available.';
