-- One value of a cron field: a number or, in the month and day-of-week fields, a name.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_value(
    p_token text,
    p_field text,
    p_min integer,
    p_max integer,
    p_names text[] DEFAULT NULL
)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Names compare case-insensitively (jan, Jan, JAN); index 1 of p_names is
-- the value p_min. Numbers must lie within p_min..p_max.
DECLARE
    v_value integer;
BEGIN
    IF p_token ~ '^[0-9]+$' THEN
        v_value := p_token::integer;
    ELSE
        v_value := array_position(p_names, upper(p_token));
        IF v_value IS NULL THEN
            RAISE EXCEPTION 'invalid cron expression: % is not a valid % value', to_json(p_token)::text, p_field
                USING ERRCODE = '22023',
                      DETAIL = format('field: %s; value: %s', p_field, to_json(p_token)::text),
                      HINT = CASE WHEN p_names IS NULL THEN format('The %s field takes numbers only.', p_field)
                                  ELSE format('Use a number or one of %s.', array_to_string(p_names, ', ')) END;
        END IF;
        v_value := v_value - 1 + p_min;
    END IF;
    IF v_value < p_min OR v_value > p_max THEN
        RAISE EXCEPTION 'invalid cron expression: % field value % is out of range', p_field, v_value
            USING ERRCODE = '22023',
                  DETAIL = format('field: %s; value: %s; allowed: %s-%s', p_field, p_token, p_min, p_max);
    END IF;
    RETURN v_value;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_value(text, text, integer, integer, text[]) IS
'Internal: a number or case-insensitive name of a cron field, checked against the field''s range; 22023 naming the field otherwise.';
