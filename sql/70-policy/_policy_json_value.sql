-- Reads one scalar of a policy document with the JSON type the field needs.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_json_value(p_value jsonb, p_kind text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- p_kind: 'string', 'boolean', 'integer' or 'setting' (a string or a number).
-- JSON null and a missing field are SQL NULL. The caller adds the field's
-- path to the error (22023).
DECLARE
    v_type text := jsonb_typeof(p_value);
BEGIN
    IF p_value IS NULL OR v_type = 'null' THEN
        RETURN NULL;
    END IF;
    IF p_kind = 'string' AND v_type = 'string'
       OR p_kind = 'boolean' AND v_type = 'boolean'
       OR p_kind = 'setting' AND v_type IN ('string', 'number') THEN
        RETURN p_value #>> '{}';
    END IF;
    IF p_kind = 'integer' AND v_type = 'number' AND (p_value #>> '{}') ~ '^-?[0-9]{1,9}$' THEN
        RETURN p_value #>> '{}';
    END IF;
    RAISE EXCEPTION 'must be %, not %', CASE p_kind WHEN 'integer' THEN 'a whole number' WHEN 'setting' THEN 'a string or a number'
                                              ELSE 'a ' || p_kind END, left(p_value::text, 60)
        USING ERRCODE = '22023';
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_json_value(jsonb, text) IS
'Internal (policy): the text of a JSON scalar of kind p_kind (string, boolean, integer, setting = string or number); JSON null or missing is NULL; another type is 22023.';
