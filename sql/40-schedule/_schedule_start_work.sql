-- Starts the work of one schedule run by calling the pack function for its type.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_start_work(
    p_backup_type text,
    p_tenant_hk bytea,
    OUT outcome text,
    OUT detail text,
    OUT backup_hk bytea
)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Each type maps to one function of the pack, called dynamically because some
-- are delivered by other parts of the pack and may not be installed yet:
-- then outcome SKIPPED with a clear detail. Backup-producing calls return the
-- backup's hash key (result column backup_id, seed 001).
DECLARE
    v_fn text := backup_mgmt._schedule_work_function(p_backup_type);
    v_row jsonb;
    v_target bytea;
    v_count bigint;
BEGIN
    IF v_fn IS NULL THEN
        RAISE EXCEPTION 'schedule type % has no work function', p_backup_type USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'backup_mgmt' AND p.proname = v_fn) THEN
        outcome := 'SKIPPED';
        detail := format('%s not available (backup_mgmt.%s() is not installed)',
                         CASE p_backup_type WHEN 'FULL' THEN 'full backups' WHEN 'INCREMENTAL' THEN 'incremental backups'
                              WHEN 'CLEANUP' THEN 'cleanup' WHEN 'HEALTH_CHECK' THEN 'health checks'
                              WHEN 'VERIFY' THEN 'verification' ELSE 'restore drills' END, v_fn);
        RETURN;
    END IF;

    CASE p_backup_type
    WHEN 'FULL', 'INCREMENTAL' THEN
        EXECUTE format('SELECT to_jsonb(r) FROM backup_mgmt.%I() AS r LIMIT 1', v_fn) INTO v_row;
        backup_hk := backup_mgmt._schedule_result_hk(v_row);
        outcome := 'STARTED';
        detail := CASE p_backup_type WHEN 'FULL' THEN 'full backup' ELSE 'incremental backup' END;
    WHEN 'DRILL' THEN
        EXECUTE 'SELECT to_jsonb(r) FROM backup_mgmt.create_restore_drill() AS r LIMIT 1' INTO v_row;
        outcome := 'STARTED';
        detail := 'restore drill' || coalesce(' ' || (SELECT h.recovery_bk FROM backup_mgmt.recovery_operation_h AS h
                                                       WHERE v_row->>'recovery_id' ~ '^\\x[0-9a-f]{64}$'
                                                         AND h.recovery_hk = decode(substr(v_row->>'recovery_id', 3), 'hex')), '');
    WHEN 'VERIFY' THEN
        SELECT c.backup_hk INTO v_target
          FROM backup_mgmt.backup_execution_current AS c
          JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = c.backup_hk
         WHERE c.backup_status = 'COMPLETED' AND h.tenant_hk IS NOT DISTINCT FROM p_tenant_hk
         ORDER BY c.backup_end_time DESC NULLS LAST, c.backup_start_time DESC
         LIMIT 1;
        IF v_target IS NULL THEN
            outcome := 'SKIPPED';
            detail := 'no completed backup to verify';
            RETURN;
        END IF;
        EXECUTE 'SELECT to_jsonb(r) FROM backup_mgmt.verify_backup_integrity($1) AS r LIMIT 1' INTO v_row USING v_target;
        backup_hk := v_target;
        outcome := 'STARTED';
        detail := 'verification of ' || (SELECT h.backup_bk FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = v_target);
    WHEN 'CLEANUP' THEN
        EXECUTE 'SELECT count(*) FROM backup_mgmt.cleanup_expired_backups($1, false)' INTO v_count USING p_tenant_hk;
        outcome := 'STARTED';
        detail := format('cleanup applied: %s result rows', v_count);
    WHEN 'HEALTH_CHECK' THEN
        EXECUTE 'SELECT coalesce(jsonb_agg(to_jsonb(r)), ''[]'') FROM backup_mgmt.health_check() AS r' INTO v_row;
        outcome := 'COMPLETED';
        detail := format('health check: %s checks, not OK: %s', jsonb_array_length(v_row),
                         coalesce((SELECT string_agg(c->>'check_name' || '=' || (c->>'status'), ', ')
                                     FROM jsonb_array_elements(v_row) AS c WHERE c->>'status' IS DISTINCT FROM 'OK'), 'none'));
    END CASE;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_start_work(text, bytea) IS
'Internal: the work of a schedule run: FULL create_full_backup(), INCREMENTAL create_incremental_backup(), CLEANUP cleanup_expired_backups(tenant, false), HEALTH_CHECK health_check(), VERIFY verify_backup_integrity(newest completed backup), DRILL create_restore_drill(); outcome SKIPPED when the function is not installed.';
