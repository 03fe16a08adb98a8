-- Parses an interval of a policy document and checks its bounds.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_interval(p_text text, p_min interval, p_min_inclusive boolean)
RETURNS interval
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The bounds are those of the function the value ends up in
-- (alter_backup_schedule, set_schedule_retention): at most 100 years, at
-- least p_min (strictly above it unless p_min_inclusive). 22023 otherwise.
DECLARE
    v_interval interval;
BEGIN
    IF p_text IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        v_interval := p_text::interval;
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'must be an interval such as ''30 days'', not %', quote_literal(left(p_text, 60))
            USING ERRCODE = '22023', DETAIL = SQLERRM;
    END;
    IF v_interval > interval '100 years' OR v_interval < p_min OR (v_interval = p_min AND NOT p_min_inclusive) THEN
        RAISE EXCEPTION 'must be % and at most 100 years, not %',
                        CASE WHEN p_min_inclusive THEN format('at least %s', p_min) ELSE 'positive' END, quote_literal(p_text)
            USING ERRCODE = '22023';
    END IF;
    RETURN v_interval;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_interval(text, interval, boolean) IS
'Internal (policy): p_text as an interval between p_min (inclusive or not) and 100 years; NULL stays NULL; 22023 otherwise.';
