-- Validates one schedule of a policy document and returns its normalised fields.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_schedule_declared(p_decl jsonb, p_path text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET IntervalStyle = 'postgres'
AS $$
-- The result has the keys of _policy_schedule_state(), with the defaults a
-- schedule starts from (create_backup_schedule) for what the file leaves out:
-- UTC, no window, active, no description, retention 7 years and no
-- overrides, no notifications. Every value goes through the validator the
-- schedule functions use, so what passes here is accepted by them. Any error
-- names the field's path in the file (message "schedules[1].cron: ...",
-- DETAIL "path: schedules[1].cron").
DECLARE
    v_field text := p_path;
    v_key text;
    v_name text;
    v_type text;
    v_cron text;
    v_zone text := 'UTC';
    v_window jsonb;
    v_start time;
    v_end time;
    v_retention jsonb;
    v_notify jsonb;
    v_recipients text[] := '{}';
    v_recipient text;
    v_description text;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    IF jsonb_typeof(p_decl) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'a schedule must be an object' USING ERRCODE = '22023';
    END IF;
    PERFORM backup_mgmt._policy_check_keys(p_decl, p_path,
        ARRAY['name', 'type', 'cron', 'timezone', 'window', 'paused', 'description', 'retention', 'notifications']);

    v_field := p_path || '.name';
    v_name := backup_mgmt._schedule_name(backup_mgmt._policy_json_value(p_decl->'name', 'string'));
    v_field := p_path || '.type';
    v_type := backup_mgmt._schedule_backup_type(backup_mgmt._policy_json_value(p_decl->'type', 'string'), NULL);
    v_field := p_path || '.cron';
    v_cron := backup_mgmt._policy_json_value(p_decl->'cron', 'string');
    IF v_cron IS NULL THEN
        RAISE EXCEPTION 'a cron expression is required' USING ERRCODE = '22023';
    END IF;
    -- The same normalisation as create_backup_schedule / alter_backup_schedule.
    v_cron := CASE WHEN left(btrim(v_cron), 1) = '@' THEN lower(btrim(v_cron))
                   ELSE (backup_mgmt._cron_fields(v_cron)).expression END;
    PERFORM backup_mgmt._cron_fields(v_cron);
    v_field := p_path || '.timezone';
    IF backup_mgmt._policy_json_value(p_decl->'timezone', 'string') IS NOT NULL THEN
        v_zone := backup_mgmt._schedule_timezone(p_decl->>'timezone');
    END IF;
    v_field := p_path || '.paused';
    PERFORM backup_mgmt._policy_json_value(p_decl->'paused', 'boolean');
    v_field := p_path || '.description';
    v_description := nullif(backup_mgmt._policy_json_value(p_decl->'description', 'string'), '');
    IF length(v_description) > 1000 OR v_description ~ '[\x01-\x08\x0b-\x1f\x7f]' THEN
        RAISE EXCEPTION 'must be at most 1000 characters without control characters' USING ERRCODE = '22023';
    END IF;

    v_field := p_path || '.window';
    v_window := p_decl->'window';
    IF v_window IS NOT NULL AND jsonb_typeof(v_window) <> 'null' THEN
        PERFORM backup_mgmt._policy_check_keys(v_window, p_path || '.window', ARRAY['start', 'end']);
        FOREACH v_key IN ARRAY ARRAY['start', 'end'] LOOP
            v_field := p_path || '.window.' || v_key;
            IF coalesce(backup_mgmt._policy_json_value(v_window->v_key, 'string'), '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' THEN
                RAISE EXCEPTION 'must be a time of day HH:MM, not %', coalesce(v_window->>v_key, 'missing') USING ERRCODE = '22023';
            END IF;
        END LOOP;
        v_field := p_path || '.window';
        v_start := (v_window->>'start')::time;
        v_end := (v_window->>'end')::time;
        PERFORM backup_mgmt._schedule_window(v_start, v_end);
    END IF;

    v_retention := backup_mgmt._policy_check_keys(p_decl->'retention', p_path || '.retention',
        ARRAY['period', 'min_redundancy', 'recovery_window', 'max_backup_count']);
    v_field := p_path || '.retention.period';
    PERFORM backup_mgmt._policy_interval(backup_mgmt._policy_json_value(v_retention->'period', 'string'), interval '0', false);
    v_field := p_path || '.retention.min_redundancy';
    IF backup_mgmt._policy_json_value(v_retention->'min_redundancy', 'integer')::integer NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'must lie between 1 and 1000, not %', v_retention->>'min_redundancy' USING ERRCODE = '22023';
    END IF;
    v_field := p_path || '.retention.recovery_window';
    PERFORM backup_mgmt._policy_interval(backup_mgmt._policy_json_value(v_retention->'recovery_window', 'string'), interval '0', true);
    v_field := p_path || '.retention.max_backup_count';
    IF backup_mgmt._policy_json_value(v_retention->'max_backup_count', 'integer')::integer NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'must lie between 1 and 1000000, not %', v_retention->>'max_backup_count' USING ERRCODE = '22023';
    END IF;

    v_notify := backup_mgmt._policy_check_keys(p_decl->'notifications', p_path || '.notifications',
        ARRAY['on_success', 'on_failure', 'recipients']);
    v_field := p_path || '.notifications.on_success';
    PERFORM backup_mgmt._policy_json_value(v_notify->'on_success', 'boolean');
    v_field := p_path || '.notifications.on_failure';
    PERFORM backup_mgmt._policy_json_value(v_notify->'on_failure', 'boolean');
    v_field := p_path || '.notifications.recipients';
    IF v_notify ? 'recipients' AND jsonb_typeof(v_notify->'recipients') <> 'null' THEN
        IF jsonb_typeof(v_notify->'recipients') <> 'array' THEN
            RAISE EXCEPTION 'must be an array of strings' USING ERRCODE = '22023';
        END IF;
        FOR v_key IN SELECT (o - 1)::text FROM jsonb_array_elements(v_notify->'recipients') WITH ORDINALITY AS e (v, o) LOOP
            v_field := format('%s.notifications.recipients[%s]', p_path, v_key);
            v_recipient := backup_mgmt._policy_json_value(v_notify->'recipients'->(v_key::integer), 'string');
            v_recipients := v_recipients || v_recipient;
        END LOOP;
        v_field := p_path || '.notifications.recipients';
        PERFORM backup_mgmt._schedule_recipients(v_recipients);
    END IF;

    RETURN jsonb_build_object(
        'type', v_type,
        'cron', v_cron,
        'timezone', v_zone,
        'window.start', v_start::text,
        'window.end', v_end::text,
        'paused', coalesce((p_decl->>'paused')::boolean, false),
        'description', v_description,
        'retention.period', coalesce(backup_mgmt._policy_interval(v_retention->>'period', interval '0', false), interval '7 years')::text,
        'retention.min_redundancy', (v_retention->>'min_redundancy')::integer,
        'retention.recovery_window', backup_mgmt._policy_interval(v_retention->>'recovery_window', interval '0', true)::text,
        'retention.max_backup_count', (v_retention->>'max_backup_count')::integer,
        'notifications.on_success', coalesce((v_notify->>'on_success')::boolean, false),
        'notifications.on_failure', coalesce((v_notify->>'on_failure')::boolean, false),
        'notifications.recipients', to_jsonb(v_recipients));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    PERFORM backup_mgmt._policy_raise_at(v_field, v_state, v_message, v_detail, v_hint);
    RETURN NULL; -- not reached: _policy_raise_at raises
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_schedule_declared(jsonb, text) IS
'Internal (policy): validates one declared schedule (name, type, cron, timezone, window {start, end}, paused, description, retention {period, min_redundancy, recovery_window, max_backup_count}, notifications {on_success, on_failure, recipients}) with the schedule functions'' validators and returns the normalised fields with their defaults (keys as _policy_schedule_state). Errors keep their SQLSTATE and name the path: "<p_path>.<field>: message", DETAIL "path: ...".';
