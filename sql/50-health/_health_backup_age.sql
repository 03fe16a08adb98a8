-- Health check full_backup_age / incremental_backup_age: is the newest
-- successful backup of a type as recent as its schedule (or the settings) asks?

CREATE OR REPLACE FUNCTION backup_mgmt._health_backup_age(
    p_type text,
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Newest COMPLETED backup of p_type whose verification did not fail, found
-- backwards through the partial index on backup_end_time of completed
-- current rows (no scan of history). With active schedules of the type: for
-- each, S1 and S2 = its next two runs after that backup, I = S2 - S1;
-- WARNING from S1 + (warning factor - 1) * I, CRITICAL from S1 + (critical
-- factor - 1) * I, the earliest over the schedules (for a regular schedule
-- whose run ended on time: 1.5 and 3 intervals after it; a weekday-only
-- schedule is not late on Sunday). No schedule: the health.*_age settings.
-- INCREMENTAL with neither schedule nor backup: OK, nothing is expected.
DECLARE
    v_kind text := lower(p_type);
    v_last timestamptz;
    v_last_bk text;
    v_warn_at timestamptz;
    v_crit_at timestamptz;
    v_schedule text;
    v_s record;
    v_runs timestamptz[];
    v_step interval;
    v_w numeric := backup_mgmt._health_number('health.schedule_warning_factor');
    v_c numeric := backup_mgmt._health_number('health.schedule_critical_factor');
    v_names text[] := '{}';
BEGIN
    IF p_type IS NULL OR p_type NOT IN ('FULL', 'INCREMENTAL') THEN
        RAISE EXCEPTION '_health_backup_age: p_type must be FULL or INCREMENTAL, not %', coalesce(quote_literal(p_type), 'NULL')
            USING ERRCODE = '22023';
    END IF;

    SELECT s.backup_end_time, s.backup_bk INTO v_last, v_last_bk
      FROM backup_mgmt.backup_execution_s AS s
     WHERE s.load_end_date IS NULL AND s.backup_status = 'COMPLETED' AND s.backup_end_time IS NOT NULL
       AND s.backup_type = p_type AND s.verification_status IS DISTINCT FROM 'FAILED'
     ORDER BY s.backup_end_time DESC
     LIMIT 1;

    -- Once per distinct (expression, time zone): schedules that share them
    -- (one nightly schedule per tenant, say) have the same runs, and the
    -- cron evaluator is the expensive part (1,286 active schedules with 6
    -- distinct expressions took 2 s one by one).
    FOR v_s IN
        -- The current satellite rows alone, from idx_backup_schedule_s_active_runs
        -- without the heap (the view would add the hub).
        SELECT c.schedule_expression, coalesce(c.timezone, 'UTC') AS zone,
               c.execution_window_start AS window_start, c.execution_window_end AS window_end,
               min(c.schedule_name) AS schedule_name, count(*) AS schedules
          FROM backup_mgmt.backup_schedule_s AS c
         -- (A dropped schedule is not active: its tags need not be read.)
         WHERE c.load_end_date IS NULL AND c.is_active AND c.backup_type = p_type
         GROUP BY c.schedule_expression, coalesce(c.timezone, 'UTC'), c.execution_window_start, c.execution_window_end
         ORDER BY min(c.schedule_name)
    LOOP
        v_names := v_names || format('%s (%s %s)%s', v_s.schedule_name, v_s.schedule_expression, v_s.zone,
                                     CASE WHEN v_s.schedules > 1 THEN format(' and %s more like it', v_s.schedules - 1) ELSE '' END);
        CONTINUE WHEN v_last IS NULL;
        -- The runs as they happen: a slot outside the execution window runs at the window's start.
        v_runs := ARRAY[backup_mgmt._schedule_next_run(v_s.schedule_expression, v_last, v_s.zone, v_s.window_start, v_s.window_end)];
        v_runs := v_runs || backup_mgmt._schedule_next_run(v_s.schedule_expression, v_runs[1], v_s.zone, v_s.window_start, v_s.window_end);
        CONTINUE WHEN v_runs[1] IS NULL OR v_runs[2] IS NULL;
        v_step := v_runs[2] - v_runs[1];
        IF v_warn_at IS NULL OR v_runs[1] + (v_w - 1) * v_step < v_warn_at THEN
            v_warn_at := v_runs[1] + (v_w - 1) * v_step;
            v_crit_at := v_runs[1] + (v_c - 1) * v_step;
            v_schedule := format('schedule %s%s (%s %s%s, every %s there)', v_s.schedule_name,
                                 CASE WHEN v_s.schedules > 1 THEN format(' and %s more like it', v_s.schedules - 1) ELSE '' END,
                                 v_s.schedule_expression, v_s.zone,
                                 CASE WHEN v_s.window_start IS NOT NULL THEN format(' window %s-%s', to_char(v_s.window_start, 'HH24:MI'), to_char(v_s.window_end, 'HH24:MI')) ELSE '' END,
                                 backup_mgmt._health_duration_text(v_step));
        END IF;
    END LOOP;

    IF v_last IS NULL THEN
        threshold := CASE WHEN cardinality(v_names) > 0
                          THEN format('warning > %s, critical > %s schedule intervals', v_w, v_c)
                          ELSE format('warning > %s, critical > %s',
                                      backup_mgmt._health_duration_text(backup_mgmt._health_interval(format('health.%s_backup_warning_age', v_kind))),
                                      backup_mgmt._health_duration_text(backup_mgmt._health_interval(format('health.%s_backup_critical_age', v_kind)))) END;
        IF cardinality(v_names) = 0 AND p_type = 'INCREMENTAL' THEN
            status := 'OK';
            value := 'none';
            detail := 'no incremental backup is scheduled or has been taken';
        ELSE
            status := 'CRITICAL';
            value := 'never';
            detail := format('no %s backup has completed successfully%s', v_kind,
                             CASE WHEN cardinality(v_names) > 0 THEN '; scheduled by ' || array_to_string(v_names, ', ')
                                  ELSE '; no active schedule either' END);
        END IF;
        RETURN;
    END IF;

    IF v_warn_at IS NULL THEN
        v_warn_at := v_last + backup_mgmt._health_interval(format('health.%s_backup_warning_age', v_kind));
        v_crit_at := v_last + backup_mgmt._health_interval(format('health.%s_backup_critical_age', v_kind));
        v_schedule := format('no active %s schedule: thresholds from settings health.%s_backup_warning_age and health.%s_backup_critical_age',
                             p_type, v_kind, v_kind);
    END IF;

    status := CASE WHEN now() >= v_crit_at THEN 'CRITICAL' WHEN now() >= v_warn_at THEN 'WARNING' ELSE 'OK' END;
    value := backup_mgmt._health_duration_text(now() - v_last);
    threshold := format('warning > %s, critical > %s', backup_mgmt._health_duration_text(v_warn_at - v_last),
                        backup_mgmt._health_duration_text(v_crit_at - v_last));
    detail := format('newest: %s, ended %s; %s', v_last_bk, to_char(v_last AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), v_schedule);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_backup_age(text) IS
'Internal (health_check): status of the newest successful (COMPLETED, verification not FAILED) backup of type FULL or INCREMENTAL. Active schedules of the type: WARNING/CRITICAL once health.schedule_warning_factor (1.5) / health.schedule_critical_factor (3) schedule intervals have passed, measured from the first two runs due after that backup (_schedule_next_run: a slot outside the execution window counts at the window''s start); the strictest schedule wins. No schedule: settings health.<type>_backup_warning_age / _critical_age. Never: CRITICAL, except INCREMENTAL with no schedule (OK).';
