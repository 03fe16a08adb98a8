-- Reads a count of bytes or rows from an agent's job result.

CREATE OR REPLACE FUNCTION backup_mgmt._result_count(p_result jsonb, p_key text)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- For the validation blocks of the _apply_*_result handlers, which name
-- p_key in their one 22023: a value that is not a number fails its cast
-- (data_exception), a negative one raises 'negative'.
BEGIN
    IF (p_result->>p_key)::bigint < 0 THEN
        RAISE EXCEPTION 'negative';
    END IF;
    RETURN (p_result->>p_key)::bigint;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._result_count(jsonb, text) IS
'Internal (_apply_*_result): field p_key of a job result as a bigint, never negative (raise_exception "negative"; a non-number fails its cast).';
