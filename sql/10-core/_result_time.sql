-- Reads a time from an agent's job result.

CREATE OR REPLACE FUNCTION backup_mgmt._result_time(p_result jsonb, p_key text, p_not_before timestamptz DEFAULT NULL, p_not_before_key text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- For the validation blocks of the _apply_*_result handlers, which name
-- p_key in their one 22023: a value that is not a time fails its cast
-- (data_exception); one before p_not_before (the field p_not_before_key)
-- raises '<p_key> <time> is before <p_not_before_key> <time>'.
DECLARE
    v_time timestamptz := (p_result->>p_key)::timestamptz;
BEGIN
    IF v_time < p_not_before THEN
        RAISE EXCEPTION '% % is before % %', p_key, v_time, p_not_before_key, p_not_before;
    END IF;
    RETURN v_time;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._result_time(jsonb, text, timestamptz, text) IS
'Internal (_apply_*_result): field p_key of a job result as a timestamptz; raise_exception when it lies before p_not_before (field p_not_before_key); a non-time fails its cast.';
