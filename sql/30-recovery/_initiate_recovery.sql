-- Records a recovery request: plan, approval state, links, maybe the job.

CREATE OR REPLACE FUNCTION backup_mgmt._initiate_recovery(
    p_target_kind text,
    p_target_value text,
    p_restore_directory text,
    p_approval_required boolean,
    p_backup_hk bytea,
    p_recovery_type text,
    p_recovery_target text,
    p_drill boolean
)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Every check comes before the first write, so a refusal leaves nothing
-- behind: approval skipping (42501), the restore directory's spelling, the
-- plan (_plan_recovery), the restore directory's place. Then hub, PENDING (approval required) or APPROVED satellite
-- version, one recovery_backup_l link per backup of the chain, and without
-- approval the RESTORE job. Returns the recovery's hash key.
DECLARE
    v_plan jsonb;
    v_bk text;
    v_hk bytea;
    v_dir text;
    v_status text;
    v_now timestamptz := now();
BEGIN
    IF p_approval_required IS NULL THEN
        RAISE EXCEPTION 'p_approval_required must not be NULL'
            USING ERRCODE = '22004', HINT = 'true (the default) waits for approve_recovery() by a second person.';
    END IF;
    IF NOT p_approval_required AND NOT p_drill AND NOT backup_mgmt._is_recovery_admin() THEN
        RAISE EXCEPTION 'only members of backup_mgmt_admin may skip the approval of a recovery'
            USING ERRCODE = '42501',
                  DETAIL = format('%s is not a member of backup_mgmt_admin.', session_user),
                  HINT = 'Request it with p_approval_required => true and have a member of recovery_approver approve it.';
    END IF;

    -- A hostile or malformed directory is bad input whatever the catalog
    -- holds: refused (22023) before the plan can answer with a state error.
    IF p_restore_directory IS NOT NULL THEN
        PERFORM backup_mgmt._normalize_path(p_restore_directory, 'restore directory');
    END IF;

    v_plan := backup_mgmt._plan_recovery(p_target_kind, p_target_value, p_backup_hk, p_drill);

    -- (7346224, 1): the recovery request lock, so that two requests cannot
    -- both claim one restore directory.
    IF current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM pg_advisory_xact_lock(7346224, 1);
    ELSIF NOT pg_try_advisory_xact_lock(7346224, 1) THEN
        RAISE EXCEPTION 'another recovery request is being recorded'
            USING ERRCODE = '40001', HINT = 'Retry the transaction, or make the request in READ COMMITTED.';
    END IF;
    v_bk := backup_mgmt.new_business_key(CASE WHEN p_drill THEN 'RECOVERY_RESTORE_DRILL' ELSE 'RECOVERY_POINT_IN_TIME' END);
    v_hk := backup_mgmt.hash_key(v_bk);
    v_dir := backup_mgmt._validate_restore_directory(p_restore_directory, v_bk);
    v_status := CASE WHEN p_approval_required AND NOT p_drill THEN 'PENDING' ELSE 'APPROVED' END;

    INSERT INTO backup_mgmt.recovery_operation_h (recovery_hk, recovery_bk, tenant_hk, record_source)
    VALUES (v_hk, v_bk, NULL, 'backup_mgmt.initiate_recovery');

    PERFORM backup_mgmt.recovery_operation_s_load(v_hk, jsonb_build_object(
        'recovery_type', p_recovery_type,
        -- bytea travels through jsonb in its text form: \x + hex.
        'source_backup_hk', '\x' || (v_plan->'base'->>'backup_hk'),
        'target_point_in_time', CASE WHEN v_plan->'target'->>'kind' = 'time' THEN v_plan->'target'->>'time' END,
        'recovery_target', p_recovery_target,
        'target_kind', v_plan->'target'->>'kind',
        'target_value', v_plan->'target'->>'value',
        'target_lsn', v_plan->'target'->>'lsn',
        'target_inclusive', (v_plan->'target'->>'inclusive')::boolean,
        'recovery_start_time', v_now,
        'recovery_status', v_status,
        'restore_directory', v_dir,
        'is_drill', p_drill,
        'initiated_by', session_user,
        'changed_by', session_user,
        'approval_required', p_approval_required AND NOT p_drill,
        'plan', v_plan), 'backup_mgmt.initiate_recovery');

    INSERT INTO backup_mgmt.recovery_backup_l (link_recovery_backup_hk, recovery_hk, backup_hk, tenant_hk, record_source)
    SELECT backup_mgmt.hash_key(v_bk, h.backup_bk), v_hk, h.backup_hk, NULL, 'backup_mgmt.initiate_recovery'
      FROM jsonb_array_elements_text(v_plan->'chain') AS c (hk_hex)
      JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = decode(c.hk_hex, 'hex')
    ON CONFLICT (link_recovery_backup_hk) DO NOTHING;

    IF v_status = 'APPROVED' THEN
        PERFORM backup_mgmt._queue_restore_job(v_hk);
    END IF;
    RETURN v_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._initiate_recovery(text, text, text, boolean, bytea, text, text, boolean) IS
'Internal (initiate_recovery, initiate_point_in_time_recovery, create_restore_drill): plans, validates the restore directory, writes hub, satellite (PENDING when approval is required, else APPROVED with the RESTORE job queued) and recovery_backup_l links for the chain. Skipping approval needs backup_mgmt_admin (42501); drills need no approval.';
