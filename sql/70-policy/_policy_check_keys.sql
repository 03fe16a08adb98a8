-- Checks that a JSON object of a policy document has only the known fields.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_check_keys(p_value jsonb, p_path text, p_allowed text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- A missing value or JSON null is the empty object. Otherwise it must be an
-- object whose keys are all in p_allowed; the first unknown one (in name
-- order) is the error, at its own path. Returns the object.
DECLARE
    v_key text;
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(p_value) <> 'object' THEN
        PERFORM backup_mgmt._policy_raise_at(p_path, '22023', 'must be an object', NULL, NULL);
    END IF;
    SELECT min(k) INTO v_key FROM jsonb_object_keys(p_value) AS k WHERE k <> ALL (p_allowed);
    IF v_key IS NOT NULL THEN
        PERFORM backup_mgmt._policy_raise_at(concat_ws('.', nullif(p_path, ''), v_key), '22023', 'unknown field', NULL,
                                             format('Known fields here: %s.', array_to_string(p_allowed, ', ')));
    END IF;
    RETURN p_value;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_check_keys(jsonb, text, text[]) IS
'Internal (policy): p_value as an object (missing or null: {}) whose keys are all in p_allowed; otherwise 22023 at the path of the object or of the first unknown key.';
