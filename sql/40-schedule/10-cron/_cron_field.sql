-- One field of a 5-field cron expression, expanded to the sorted values it allows.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_field(
    p_text text,
    p_field text,
    p_min integer,
    p_max integer,
    p_names text[] DEFAULT NULL
)
RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Vixie cron grammar, as pg_cron parses it: a comma-separated list of items,
-- each "*", "*/step", "n", "a-b" or "a-b/step"; names (JAN, mon, ...) where
-- p_names is given, index 0 of p_names standing for value p_min. Stricter
-- than pg_cron where pg_cron silently accepts nonsense (a-b with a > b,
-- trailing garbage). "n/step" is refused, as pg_cron refuses it.
DECLARE
    v_item text;
    v_parts text[];
    v_from integer;
    v_to integer;
    v_step integer;
    v_values integer[] := '{}';
    v_value integer;
    v_hint constant text := 'Each item is *, */step, n, a-b or a-b/step; steps need * or a range (5/15 is not valid, write 5-59/15).';
BEGIN
    IF p_text IS NULL OR p_text = '' THEN
        RAISE EXCEPTION 'invalid cron expression: the % field is empty', p_field
            USING ERRCODE = '22023', DETAIL = format('field: %s', p_field), HINT = v_hint;
    END IF;

    FOREACH v_item IN ARRAY string_to_array(p_text, ',')
    LOOP
        -- (1) start: * or a value, (3) end of a range, (5) step
        v_parts := regexp_match(v_item, '^(\*|[0-9]{1,2}|[A-Za-z]{3})(-([0-9]{1,2}|[A-Za-z]{3}))?(/([0-9]{1,2}))?$');
        IF v_parts IS NULL OR (v_parts[1] = '*' AND v_parts[2] IS NOT NULL)
           OR (v_parts[1] <> '*' AND v_parts[2] IS NULL AND v_parts[4] IS NOT NULL) THEN
            RAISE EXCEPTION 'invalid cron expression: % field item % is not valid', p_field, to_json(v_item)::text
                USING ERRCODE = '22023',
                      DETAIL = format('field: %s; item: %s', p_field, to_json(v_item)::text),
                      HINT = v_hint;
        END IF;

        IF v_parts[1] = '*' THEN
            v_from := p_min;
            v_to := p_max;
        ELSE
            v_from := backup_mgmt._cron_value(v_parts[1], p_field, p_min, p_max, p_names);
            v_to := CASE WHEN v_parts[3] IS NULL THEN v_from
                         ELSE backup_mgmt._cron_value(v_parts[3], p_field, p_min, p_max, p_names) END;
            IF v_to < v_from THEN
                RAISE EXCEPTION 'invalid cron expression: % field range % runs backwards', p_field, to_json(v_item)::text
                    USING ERRCODE = '22023',
                          DETAIL = format('field: %s; item: %s', p_field, to_json(v_item)::text),
                          HINT = 'Ranges do not wrap around; write two items instead (e.g. 22-23,0-2).';
            END IF;
        END IF;

        v_step := coalesce(v_parts[5]::integer, 1);
        IF v_step < 1 OR v_step > p_max - p_min + 1 THEN
            RAISE EXCEPTION 'invalid cron expression: % field step % is out of range', p_field, v_step
                USING ERRCODE = '22023',
                      DETAIL = format('field: %s; item: %s; a step is between 1 and %s', p_field, to_json(v_item)::text, p_max - p_min + 1),
                      HINT = v_hint;
        END IF;

        v_value := v_from;
        WHILE v_value <= v_to LOOP
            v_values := v_values || v_value;
            v_value := v_value + v_step;
        END LOOP;
    END LOOP;

    RETURN ARRAY(SELECT DISTINCT v FROM unnest(v_values) AS v ORDER BY v);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_field(text, text, integer, integer, text[]) IS
'Internal: expands one cron field (list of *, */n, n, a-b, a-b/n; names where p_names is given) into its sorted values; 22023 naming the field otherwise.';
