-- Changes a schedule's definition; a new satellite version, pg_cron kept in step.

CREATE OR REPLACE FUNCTION backup_mgmt.alter_backup_schedule(
    p_schedule_name text,
    p_cron_expression text DEFAULT NULL,
    p_backup_type text DEFAULT NULL,
    p_timezone text DEFAULT NULL,
    p_execution_window_start time DEFAULT NULL,
    p_execution_window_end time DEFAULT NULL,
    p_clear_execution_window boolean DEFAULT false,
    p_retention_period interval DEFAULT NULL,
    p_description text DEFAULT NULL
)
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- NULL means "unchanged". A window is replaced as a whole (both ends) or
-- removed with p_clear_execution_window. next_execution_time is recomputed
-- from now for an active schedule. Identical values write no version.
DECLARE
    v_s backup_mgmt.backup_schedule_s := backup_mgmt._schedule_lock(p_schedule_name);
    v_tenant bytea;
    v_expr text := v_s.schedule_expression;
    v_type text := v_s.backup_type;
    v_zone text := coalesce(v_s.timezone, 'UTC');
    v_ws time := v_s.execution_window_start;
    v_we time := v_s.execution_window_end;
BEGIN
    SELECT h.tenant_hk INTO v_tenant FROM backup_mgmt.backup_schedule_h AS h WHERE h.schedule_hk = v_s.schedule_hk;
    IF p_cron_expression IS NOT NULL THEN
        v_expr := (backup_mgmt._cron_fields(p_cron_expression)).expression;
        IF left(btrim(p_cron_expression), 1) = '@' THEN
            v_expr := lower(btrim(p_cron_expression));
        END IF;
    END IF;
    IF p_backup_type IS NOT NULL THEN
        v_type := backup_mgmt._schedule_backup_type(p_backup_type, v_tenant);
        IF v_type IS DISTINCT FROM v_s.backup_type THEN
            PERFORM backup_mgmt._schedule_authorize(v_type, v_tenant, session_user, 'alter_backup_schedule');
            PERFORM backup_mgmt._schedule_authorize(v_type, v_tenant, v_s.created_by, 'alter_backup_schedule');
        END IF;
    END IF;
    IF p_timezone IS NOT NULL THEN
        v_zone := backup_mgmt._schedule_timezone(p_timezone);
    END IF;
    IF coalesce(p_clear_execution_window, false) THEN
        IF p_execution_window_start IS NOT NULL OR p_execution_window_end IS NOT NULL THEN
            RAISE EXCEPTION 'give a new execution window or clear it, not both'
                USING ERRCODE = '22023', DETAIL = 'field: execution_window';
        END IF;
        v_ws := NULL;
        v_we := NULL;
    ELSIF p_execution_window_start IS NOT NULL OR p_execution_window_end IS NOT NULL THEN
        PERFORM backup_mgmt._schedule_window(p_execution_window_start, p_execution_window_end);
        v_ws := p_execution_window_start;
        v_we := p_execution_window_end;
    END IF;
    IF p_retention_period IS NOT NULL AND (p_retention_period <= interval '0' OR p_retention_period > interval '100 years') THEN
        RAISE EXCEPTION 'retention period must be positive and at most 100 years'
            USING ERRCODE = '22023', DETAIL = format('field: retention_period; value: %s', p_retention_period);
    END IF;
    IF p_description IS NOT NULL AND (length(p_description) > 1000 OR p_description ~ '[\x01-\x08\x0b-\x1f\x7f]') THEN
        RAISE EXCEPTION 'description must be at most 1000 characters without control characters'
            USING ERRCODE = '22023', DETAIL = format('field: schedule_description; length: %s', length(p_description));
    END IF;

    RETURN backup_mgmt._schedule_save(v_s, jsonb_build_object(
        'schedule_expression', v_expr,
        'backup_type', v_type,
        'timezone', v_zone,
        'execution_window_start', v_ws,
        'execution_window_end', v_we,
        'retention_period', coalesce(p_retention_period, v_s.retention_period),
        'schedule_description', coalesce(p_description, v_s.schedule_description),
        'next_execution_time', CASE WHEN v_s.is_active THEN backup_mgmt._schedule_next_run(v_expr, now(), v_zone, v_ws, v_we) END,
        'changed_by', session_user),
        'backup_mgmt.alter_backup_schedule');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.alter_backup_schedule(text, text, text, text, time, time, boolean, interval, text) IS
'Changes a schedule: NULL arguments keep the current value; a window is replaced with both ends or removed with p_clear_execution_window; p_timezone is a pg_timezone_names zone in which the cron expression and window are read. Recomputes next_execution_time from now and updates the pg_cron job. Returns the schedule hash key. Errors: 42704 unknown or dropped schedule, 22004/22023/0A000 as create_backup_schedule; nothing written on error.';
