-- Defines a backup schedule (seed 001 signature) and registers it with pg_cron.

CREATE OR REPLACE FUNCTION backup_mgmt.create_backup_schedule(
    p_schedule_name varchar(200),
    p_backup_type varchar(50),
    p_cron_expression varchar(100),
    p_tenant_hk bytea DEFAULT NULL,
    p_retention_period interval DEFAULT '7 years',
    p_execution_window_start time DEFAULT NULL,
    p_execution_window_end time DEFAULT NULL
)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Validates everything before writing anything; hub + first satellite
-- version (through the loader), next_execution_time from the cron evaluator
-- (time zone UTC; alter_backup_schedule changes it), then the pg_cron job.
-- A dropped schedule's name may be defined again: same hub, new version that
-- starts from these arguments and the defaults. Nothing of the dropped
-- definition carries over (retention overrides, counters, notifications,
-- description, tags); its versions stay in the history.
DECLARE
    v_name text := backup_mgmt._schedule_name(p_schedule_name);
    v_type text := backup_mgmt._schedule_backup_type(p_backup_type, p_tenant_hk);
    v_expr text;
    v_hk bytea;
    v_hub_tenant bytea;
    v_current backup_mgmt.backup_schedule_s;
BEGIN
    -- A tenant's role defines schedules of its own tenant only.
    PERFORM backup_mgmt._require_tenant_access(p_tenant_hk, 'create_backup_schedule');
    PERFORM backup_mgmt._schedule_authorize(v_type, p_tenant_hk, session_user, 'create_backup_schedule');
    v_expr := (backup_mgmt._cron_fields(p_cron_expression)).expression;
    IF left(btrim(p_cron_expression), 1) = '@' THEN
        v_expr := lower(btrim(p_cron_expression));
    END IF;
    PERFORM backup_mgmt._schedule_window(p_execution_window_start, p_execution_window_end);
    IF p_retention_period IS NOT NULL AND (p_retention_period <= interval '0' OR p_retention_period > interval '100 years') THEN
        RAISE EXCEPTION 'retention period must be positive and at most 100 years'
            USING ERRCODE = '22023', DETAIL = format('field: retention_period; value: %s', p_retention_period);
    END IF;

    v_hk := backup_mgmt.hash_key(v_name);
    INSERT INTO backup_mgmt.backup_schedule_h (schedule_hk, schedule_bk, tenant_hk, record_source)
    VALUES (v_hk, v_name, p_tenant_hk, 'backup_mgmt.create_backup_schedule')
    ON CONFLICT DO NOTHING;
    SELECT h.tenant_hk INTO v_hub_tenant FROM backup_mgmt.backup_schedule_h AS h WHERE h.schedule_hk = v_hk FOR UPDATE;
    SELECT * INTO v_current FROM backup_mgmt.backup_schedule_s AS s WHERE s.schedule_hk = v_hk AND s.load_end_date IS NULL;
    IF (v_current.schedule_hk IS NOT NULL AND NOT coalesce(v_current.tags ? 'dropped_at', false))
       OR v_hub_tenant IS DISTINCT FROM p_tenant_hk THEN
        RAISE EXCEPTION 'backup schedule % already exists', v_name
            USING ERRCODE = '42710',
                  DETAIL = CASE WHEN v_hub_tenant IS DISTINCT FROM p_tenant_hk THEN 'The name belongs to a schedule of another tenant.'
                                ELSE format('It was defined by %s and is %s.', v_current.created_by,
                                            CASE WHEN v_current.is_active THEN 'active' ELSE 'paused' END) END,
                  HINT = 'Change it with alter_backup_schedule(), or drop it first.';
    END IF;

    PERFORM backup_mgmt.backup_schedule_s_load(v_hk, jsonb_build_object(
        'schedule_name', v_name,
        'backup_type', v_type,
        'schedule_expression', v_expr,
        'timezone', 'UTC',
        'execution_window_start', p_execution_window_start,
        'execution_window_end', p_execution_window_end,
        'is_active', true,
        'next_execution_time', backup_mgmt._schedule_next_run(v_expr, now(), 'UTC', p_execution_window_start, p_execution_window_end),
        'execution_count', 0,
        'last_execution_time', NULL,
        'max_execution_duration', NULL,
        'retention_period', p_retention_period,
        'max_backup_count', NULL,
        'min_redundancy', NULL,
        'recovery_window', NULL,
        'notify_on_success', NULL,
        'notify_on_failure', NULL,
        'notification_recipients', NULL,
        'backup_priority', NULL,
        'resource_constraints', NULL,
        'schedule_description', NULL,
        'cron_job_name', CASE WHEN backup_mgmt._schedule_pg_cron() THEN 'backup_mgmt:' || v_name END,
        'created_by', session_user,
        'changed_by', session_user,
        'tags', NULL),
        'backup_mgmt.create_backup_schedule');
    PERFORM backup_mgmt._schedule_cron_sync(v_hk);
    RETURN v_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.create_backup_schedule(varchar, varchar, varchar, bytea, interval, time, time) IS
'Defines a schedule and returns its hash key (hash_key(name)). p_schedule_name: ^[a-z0-9][a-z0-9_-]{0,62}$, case-insensitive, stored lower-case; p_backup_type: FULL, INCREMENTAL, CLEANUP, HEALTH_CHECK, VERIFY or DRILL; p_cron_expression: 5-field cron or @alias (see cron_parse), evaluated in UTC until alter_backup_schedule(p_timezone) changes it; p_tenant_hk NULL = system-wide (FULL/INCREMENTAL must be system-wide: 0A000); p_retention_period positive; execution window both ends or none, start <> end, start > end wraps midnight (runs due outside it are deferred to its start). With pg_cron in this database a job backup_mgmt:<name> runs SELECT backup_mgmt.run_schedule(''<name>''); otherwise agents drive it with run_due_schedules(). A dropped name defined again starts afresh (no retention overrides, counters, notifications or tags of the dropped definition; its history stays in backup_schedule_s). Errors: 22004 NULL, 22023 bad input, 42710 name in use, 42501 when the caller may not start the schedule''s work directly (see _schedule_authorize; checked again before every run); nothing is written on error.';
