-- Raises an error of a policy document at its path in the file.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_raise_at(p_path text, p_sqlstate text, p_message text, p_detail text, p_hint text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Called from the exception handlers of the policy validators with what they
-- caught: the message becomes "<path>: <message>" and DETAIL starts with
-- "path: <path>", which the CLI and the tests read. An error that already
-- names its path (DETAIL "path: ...") is raised again as it is. The SQLSTATE
-- of the validator that refused (22023 mostly) is kept.
DECLARE
    v_message text := p_message;
    v_detail text := p_detail;
BEGIN
    IF coalesce(p_detail, '') NOT LIKE 'path: %' THEN
        v_message := format('%s: %s', p_path, regexp_replace(p_message, '^set_setting: ', ''));
        v_detail := concat_ws('; ', 'path: ' || p_path, nullif(p_detail, ''));
    END IF;
    IF coalesce(p_hint, '') = '' THEN
        RAISE EXCEPTION '%', v_message USING ERRCODE = p_sqlstate, DETAIL = v_detail;
    END IF;
    RAISE EXCEPTION '%', v_message USING ERRCODE = p_sqlstate, DETAIL = v_detail, HINT = p_hint;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_raise_at(text, text, text, text, text) IS
'Internal (policy): raises p_message as "<p_path>: message" with DETAIL "path: <p_path>[; detail]", HINT and SQLSTATE kept; an error whose DETAIL already starts with "path: " is raised unchanged.';
