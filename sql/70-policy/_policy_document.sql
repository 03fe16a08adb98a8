-- Validates a whole policy document and returns it normalised.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_document(p_policy jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The document is the JSON form of a policy file (what defineBackupPolicy()
-- validates in TypeScript): {version: 1, prune, schedules: [...],
-- retention: {...}, health: {...}}. Checked here again so that a document
-- handed to policy_plan()/policy_apply() directly gets the same answers.
-- Result: {prune, sha256, schedules: [{name, path, declaration}],
-- settings: [{name, path, given, value}]} with schedules and settings sorted
-- by name; "given" is the declared text (NULL = back to the default), "value"
-- its comparable spelling (of the default when given is NULL).
-- Errors (22023, or the validator's SQLSTATE) name the path in the file.
DECLARE
    v_field text := '(policy)';
    v_key text;
    v_group text;
    v_item jsonb;
    v_index integer;
    v_name text;
    v_schedules jsonb := '[]';
    v_settings jsonb := '[]';
    v_given text;
    v_other text;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    IF jsonb_typeof(p_policy) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'a policy must be a JSON object' USING ERRCODE = '22023';
    END IF;
    PERFORM backup_mgmt._policy_check_keys(p_policy, '', ARRAY['version', 'prune', 'schedules', 'retention', 'health']);
    v_field := 'version';
    IF p_policy ? 'version' AND p_policy->'version' <> '1'::jsonb THEN
        RAISE EXCEPTION 'unsupported policy version %', p_policy->'version' USING ERRCODE = '22023', HINT = 'This backup_mgmt reads version 1.';
    END IF;
    v_field := 'prune';
    PERFORM backup_mgmt._policy_json_value(p_policy->'prune', 'boolean');

    v_field := 'schedules';
    IF p_policy ? 'schedules' AND jsonb_typeof(p_policy->'schedules') <> 'array' THEN
        RAISE EXCEPTION 'must be an array' USING ERRCODE = '22023';
    END IF;
    FOR v_item, v_index IN SELECT e, o - 1 FROM jsonb_array_elements(coalesce(p_policy->'schedules', '[]')) WITH ORDINALITY AS a (e, o) LOOP
        v_field := format('schedules[%s]', v_index);
        -- Errors of a schedule carry their own path; keep it.
        v_item := jsonb_build_object('path', v_field, 'declaration', backup_mgmt._policy_schedule_declared(v_item, v_field),
                                     'name', backup_mgmt._schedule_name(v_item->>'name'));
        SELECT s->>'path' INTO v_other FROM jsonb_array_elements(v_schedules) AS s WHERE s->>'name' = v_item->>'name';
        IF v_other IS NOT NULL THEN
            v_field := v_field || '.name';
            RAISE EXCEPTION 'duplicate schedule name %', v_item->>'name'
                USING ERRCODE = '22023', DETAIL = format('Also declared at %s (names are case-insensitive).', v_other);
        END IF;
        v_schedules := v_schedules || v_item;
    END LOOP;

    FOREACH v_group IN ARRAY ARRAY['retention', 'health'] LOOP
        v_field := v_group;
        CONTINUE WHEN NOT p_policy ? v_group;
        IF jsonb_typeof(p_policy->v_group) <> 'object' THEN
            RAISE EXCEPTION 'must be an object' USING ERRCODE = '22023';
        END IF;
        FOR v_key IN SELECT k FROM jsonb_object_keys(p_policy->v_group) AS k ORDER BY k LOOP
            v_field := v_group || '.' || v_key;
            v_name := v_group || '.' || v_key;
            IF NOT EXISTS (SELECT 1 FROM backup_mgmt._setting_catalog() AS c WHERE c.name = v_name) THEN
                RAISE EXCEPTION 'unknown setting %', v_name USING ERRCODE = '22023',
                    HINT = format('Known: %s.', (SELECT string_agg(substr(c.name, length(v_group) + 2), ', ' ORDER BY c.name)
                                                 FROM backup_mgmt._setting_catalog() AS c WHERE c.name LIKE v_group || '.%'));
            END IF;
            v_given := backup_mgmt._policy_json_value(p_policy->v_group->v_key, 'setting');
            v_settings := v_settings || jsonb_build_object(
                'name', v_name, 'path', v_field, 'given', v_given,
                'value', backup_mgmt._policy_setting_value(v_name, coalesce(v_given,
                             (SELECT c.default_value FROM backup_mgmt._setting_catalog() AS c WHERE c.name = v_name))));
        END LOOP;
    END LOOP;

    v_item := jsonb_build_object(
        'prune', coalesce((p_policy->>'prune')::boolean, false),
        'schedules', (SELECT coalesce(jsonb_agg(s ORDER BY s->>'name'), '[]') FROM jsonb_array_elements(v_schedules) AS s),
        'settings', (SELECT coalesce(jsonb_agg(s ORDER BY s->>'name'), '[]') FROM jsonb_array_elements(v_settings) AS s));
    RETURN v_item || jsonb_build_object('sha256', encode(sha256(convert_to(
        jsonb_build_object('prune', v_item->'prune',
                           'schedules', (SELECT jsonb_object_agg(s->>'name', s->'declaration') FROM jsonb_array_elements(v_item->'schedules') AS s),
                           'settings', (SELECT jsonb_object_agg(s->>'name', s->'given') FROM jsonb_array_elements(v_item->'settings') AS s))::text,
        'UTF8')), 'hex'));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    PERFORM backup_mgmt._policy_raise_at(v_field, v_state, v_message, v_detail, v_hint);
    RETURN NULL; -- not reached: _policy_raise_at raises
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_document(jsonb) IS
'Internal (policy): validates a policy document (version 1: prune, schedules, retention, health) and returns {prune, sha256, schedules: [{name, path, declaration}], settings: [{name, path, given, value}]} sorted by name. Errors keep the validator''s SQLSTATE (22023 mostly) and name the path in the file: message "<path>: ...", DETAIL "path: <path>".';
