-- Refuses a call whose required arguments are NULL.

CREATE OR REPLACE FUNCTION backup_mgmt._require_args(p_missing boolean, p_caller text, p_names text, p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The first check of most public functions, in one line at the caller:
-- p_missing is its test (p_a IS NULL OR p_b IS NULL), p_names what it names
-- ('p_a and p_b'). 22004 '<p_caller>: <p_names> must not be NULL', with
-- p_hint when there is one.
BEGIN
    IF p_missing AND p_hint IS NOT NULL THEN
        RAISE EXCEPTION '%: % must not be NULL', p_caller, p_names
            USING ERRCODE = '22004', HINT = p_hint;
    ELSIF p_missing THEN
        RAISE EXCEPTION '%: % must not be NULL', p_caller, p_names
            USING ERRCODE = '22004';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._require_args(boolean, text, text, text) IS
'Internal: 22004 "<p_caller>: <p_names> must not be NULL" (with p_hint) when p_missing is true; nothing otherwise.';
