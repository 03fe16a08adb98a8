-- The server settings and the target description of a recovery plan.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_settings(p_target jsonb, p_base_bk text, p_base_stop_lsn pg_lsn)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Step 4 of _plan_recovery, for a target from _recovery_target and the base
-- _recovery_base chose (an immediate target is that base's end). Returns
-- {restore_settings: the recovery_target* parameters the agent writes into
-- the restored server's configuration (always on the current timeline,
-- promoting at the target), target: the plan's target object}.
DECLARE
    v_kind text := p_target->>'kind';
    v_canonical text := CASE WHEN v_kind = 'immediate' THEN p_base_bk ELSE p_target->>'value' END;
    v_rp jsonb := p_target->'restore_point';
BEGIN
    RETURN jsonb_build_object(
        'restore_settings', jsonb_build_object('recovery_target_timeline', 'current') || CASE v_kind
            WHEN 'time' THEN jsonb_build_object('recovery_target_time', v_canonical, 'recovery_target_inclusive', true, 'recovery_target_action', 'promote')
            WHEN 'xid' THEN jsonb_build_object('recovery_target_xid', v_canonical, 'recovery_target_inclusive', true, 'recovery_target_action', 'promote')
            WHEN 'lsn' THEN jsonb_build_object('recovery_target_lsn', v_canonical, 'recovery_target_inclusive', true, 'recovery_target_action', 'promote')
            WHEN 'name' THEN jsonb_build_object('recovery_target_name', v_canonical, 'recovery_target_action', 'promote')
            WHEN 'immediate' THEN jsonb_build_object('recovery_target', 'immediate', 'recovery_target_action', 'promote')
            ELSE '{}'::jsonb END,
        'target', jsonb_build_object('kind', v_kind, 'value', v_canonical, 'inclusive', true, 'action', 'promote')
            || CASE v_kind
                   WHEN 'time' THEN jsonb_build_object('time', v_canonical)
                   WHEN 'lsn' THEN jsonb_build_object('lsn', p_target->>'lsn')
                   WHEN 'xid' THEN jsonb_build_object('xid', p_target->>'xid')
                   WHEN 'name' THEN jsonb_build_object('lsn', v_rp->>'lsn', 'restore_point', v_rp)
                   WHEN 'immediate' THEN jsonb_build_object('lsn', p_base_stop_lsn::text)
                   ELSE '{}'::jsonb END);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_settings(jsonb, text, pg_lsn) IS
'Internal (_plan_recovery, step 4): {restore_settings, target} of a recovery plan for a target from _recovery_target and its chosen base (backup_bk, stop_lsn).';
